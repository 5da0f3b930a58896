//go:build !proxywasm_abi_0_2_1

package proxywasm

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// GetLogLevel returns the host's current plugin log level: proxy_get_log_level,
// or Higress's foreign function "get_log_level" where that is what the host has.
func GetLogLevel() (types.LogLevel, error) {
	var r retVals
	if st := abi.ProxyGetLogLevel(&r.n); st == abi.StatusOK {
		return types.LogLevel(r.n), nil
	}
	b, err := CallForeignFunction("get_log_level", nil)
	if err != nil {
		return types.LogLevelTrace, err
	}
	v, ok := abi.Uint32(b)
	if !ok {
		return types.LogLevelTrace, types.ErrorStatusBadArgument
	}
	return types.LogLevel(v), nil
}
