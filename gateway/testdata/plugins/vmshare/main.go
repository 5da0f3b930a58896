// Command vmshare is a test plugin for VM sharing. As an HTTP filter it
// counts requests in shared data ("hits"), in a Go global of its VM and per
// root context, enqueues one item per request on the "events" queue of its
// vm_id when someone registered it, and answers with response headers that
// show its root context id and the counters. As a service (configuration
// {"role":"service"}, e.g. a bootstrap WasmService) it registers the
// "events" queue, counts the items it receives in shared data ("seen") and
// its ticks ("ticks"), and reports VM starts in "vm_starts". Properties
// named in "root_props" (paths) are read in the root context at start and
// reported as x-NAME-rootprop-I response headers ("ok:VALUE" or the error).
package main

import (
	"encoding/binary"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

// streams counts the requests of every root context of this VM.
var streams int

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) OnVMStart(int) types.OnVMStartStatus {
	increment("vm_starts")
	return types.OnVMStartStatusOK
}

func (*vmContext) NewPluginContext(id uint32) types.PluginContext {
	return &pluginContext{id: id}
}

type pluginContext struct {
	types.DefaultPluginContext
	id       uint32
	name     string
	service  bool
	requests int
	queue    uint32
	props    []string
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	b, err := proxywasm.GetPluginConfiguration()
	if err != nil && size > 0 {
		return types.OnPluginStartStatusFailed
	}
	cfg := gjson.ParseBytes(b)
	p.name = cfg.Get("name").String()
	p.service = cfg.Get("role").String() == "service"
	for _, path := range cfg.Get("root_props").Array() {
		var parts []string
		for _, s := range path.Array() {
			parts = append(parts, s.String())
		}
		v, err := proxywasm.GetProperty(parts)
		if err != nil {
			p.props = append(p.props, err.Error())
		} else {
			p.props = append(p.props, "ok:"+string(v))
		}
	}
	if p.service {
		q, err := proxywasm.RegisterSharedQueue("events")
		if err != nil {
			proxywasm.LogErrorf("register queue: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.queue = q
		if err := proxywasm.SetTickPeriodMilliSeconds(20); err != nil {
			return types.OnPluginStartStatusFailed
		}
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() { increment("ticks") }

func (p *pluginContext) OnQueueReady(id uint32) {
	for {
		if _, err := proxywasm.DequeueSharedQueue(id); err != nil {
			return
		}
		increment("seen")
	}
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	if p.service {
		return nil
	}
	return &httpContext{p: p}
}

type httpContext struct {
	types.DefaultHttpContext
	p                  *pluginContext
	hits, vm, requests int
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	h.hits = increment("hits")
	streams++
	h.p.requests++
	h.vm, h.requests = streams, h.p.requests
	if q, err := proxywasm.ResolveSharedQueue("", "events"); err == nil {
		_ = proxywasm.EnqueueSharedQueue(q, []byte("hit"))
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	n := "x-" + h.p.name
	_ = proxywasm.AddHttpResponseHeader(n+"-root", strconv.Itoa(int(h.p.id)))
	_ = proxywasm.AddHttpResponseHeader(n+"-hits", strconv.Itoa(h.hits))
	_ = proxywasm.AddHttpResponseHeader(n+"-vm-requests", strconv.Itoa(h.vm))
	_ = proxywasm.AddHttpResponseHeader(n+"-requests", strconv.Itoa(h.requests))
	for i, v := range h.p.props {
		_ = proxywasm.AddHttpResponseHeader(n+"-rootprop-"+strconv.Itoa(i), v)
	}
	for _, k := range []string{"seen", "ticks", "vm_starts"} {
		_ = proxywasm.AddHttpResponseHeader(n+"-"+k, strconv.Itoa(read(k)))
	}
	return types.ActionContinue
}

func read(key string) int {
	b, _, err := proxywasm.GetSharedData(key)
	if err != nil || len(b) != 8 {
		return 0
	}
	return int(binary.LittleEndian.Uint64(b))
}

// increment adds one to a shared-data counter with compare-and-swap and
// returns the new value.
func increment(key string) int {
	for {
		b, cas, err := proxywasm.GetSharedData(key)
		n := uint64(0)
		if err == nil && len(b) == 8 {
			n = binary.LittleEndian.Uint64(b)
		}
		n++
		var out [8]byte
		binary.LittleEndian.PutUint64(out[:], n)
		if err := proxywasm.SetSharedData(key, out[:], cas); err == nil {
			return int(n)
		}
	}
}
