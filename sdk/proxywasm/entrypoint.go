// Package proxywasm is the plugin side of the proxy-wasm ABI: the host calls a
// plugin makes and the registration of its contexts.
//
// A plugin registers exactly one entry point in init() — SetVMContext, or one
// of the shortcuts SetPluginContext, SetHttpContext, SetTcpContext — and the
// host then drives it through the callbacks this package exports. Built for
// wasip1 the host calls are //go:wasmimport functions of module "env"; built
// natively they go to a test host (see sdk/internal/abi).
//
// The function names and behaviour follow Higress's proxy-wasm-go-sdk, so a
// Higress plugin ports by changing import paths.
package proxywasm

import (
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// SetVMContext registers the VM context of the plugin. Call it in init():
// with Go 1.24 c-shared modules main is never run.
func SetVMContext(ctx types.VMContext) { vmstate.SetVMContext(ctx) }

// GetVMContext returns the VM context registered with SetVMContext.
func GetVMContext() types.VMContext { return vmstate.VMContext() }

// GetHttpContext returns the live HTTP context with the given id, or nil.
func GetHttpContext(contextID uint32) types.HttpContext { return vmstate.HttpContext(contextID) }

// SetPluginContext registers a plugin context factory with a default VM context.
func SetPluginContext(newPluginContext types.PluginContextFactory) {
	SetVMContext(&simpleVMContext{newPluginContext: newPluginContext})
}

// SetHttpContext registers an HTTP context factory with default VM and plugin contexts.
func SetHttpContext(newHttpContext types.HttpContextFactory) {
	SetPluginContext(func(uint32) types.PluginContext { return &simplePluginContext{newHttp: newHttpContext} })
}

// SetTcpContext registers a TCP context factory with default VM and plugin contexts.
func SetTcpContext(newTcpContext types.TcpContextFactory) {
	SetPluginContext(func(uint32) types.PluginContext { return &simplePluginContext{newTcp: newTcpContext} })
}

type simpleVMContext struct {
	types.DefaultVMContext
	newPluginContext types.PluginContextFactory
}

func (c *simpleVMContext) NewPluginContext(id uint32) types.PluginContext {
	return c.newPluginContext(id)
}

type simplePluginContext struct {
	types.DefaultPluginContext
	newHttp types.HttpContextFactory
	newTcp  types.TcpContextFactory
}

func (c *simplePluginContext) NewHttpContext(id uint32) types.HttpContext {
	if c.newHttp == nil {
		return nil
	}
	return c.newHttp(id)
}

func (c *simplePluginContext) NewTcpContext(id uint32) types.TcpContext {
	if c.newTcp == nil {
		return nil
	}
	return c.newTcp(id)
}
