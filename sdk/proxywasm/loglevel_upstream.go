//go:build proxywasm_abi_0_2_1

package proxywasm

import (
	"github.com/wasmgate/wasmgate/sdk/internal/abi"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// GetLogLevel returns the host's current plugin log level (proxy_get_log_level).
func GetLogLevel() (types.LogLevel, error) {
	var lvl uint32
	if st := abi.ProxyGetLogLevel(&lvl); st != abi.StatusOK {
		return types.LogLevelTrace, types.StatusToError(types.Status(st))
	}
	return types.LogLevel(lvl), nil
}
