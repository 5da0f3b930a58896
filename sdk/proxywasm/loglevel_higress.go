//go:build !proxywasm_abi_0_2_1

package proxywasm

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// GetLogLevel returns the host's current plugin log level. Higress answers the
// foreign function "get_log_level"; other hosts fall back to proxy_get_log_level.
func GetLogLevel() (types.LogLevel, error) {
	b, err := CallForeignFunction("get_log_level", nil)
	if err == nil {
		if v, ok := abi.Uint32(b); ok {
			return types.LogLevel(v), nil
		}
	}
	var lvl uint32
	if st := abi.ProxyGetLogLevel(&lvl); st != abi.StatusOK {
		if err == nil {
			err = types.StatusToError(types.Status(st))
		}
		return types.LogLevelTrace, err
	}
	return types.LogLevel(lvl), nil
}
