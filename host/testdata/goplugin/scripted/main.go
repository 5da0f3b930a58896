//go:build wasip1

// Command scripted is a raw proxy-wasm plugin (no SDK) for the host
// engine's conformance tests. Its plugin configuration is a JSON script:
// (one per root context, so plugins sharing the VM keep their own; the VM
// configuration can hold a script too, the base of every root's):
// for each callback, a list of operations. Every operation calls host
// functions and logs what they returned, so a test can drive any ABI
// function from Go and assert on the log.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

func main() {}

type Op struct {
	Op      string      `json:"op"`
	Level   uint32      `json:"level"`
	Msg     string      `json:"msg"`
	Value   *int64      `json:"value"`
	Map     uint32      `json:"map"`
	Key     string      `json:"key"`
	Val     string      `json:"val"`
	Pairs   [][2]string `json:"pairs"`
	Hex     string      `json:"hex"`
	Buf     uint32      `json:"buf"`
	Start   uint32      `json:"start"`
	Max     int64       `json:"max"`
	Size    uint32      `json:"size"`
	Data    string      `json:"data"`
	Stream  uint32      `json:"stream"`
	Status  uint32      `json:"status"`
	Details string      `json:"details"`
	Body    string      `json:"body"`
	Grpc    int32       `json:"grpc"`
	Cluster string      `json:"cluster"`
	Timeout uint32      `json:"timeout"`
	Ctx     int64       `json:"ctx"`
	Path    []string    `json:"path"`
	Cas     uint32      `json:"cas"`
	Name    string      `json:"name"`
	VMID    string      `json:"vm_id"`
	ID      int64       `json:"id"`
	Type    uint32      `json:"type"`
	Delta   int64       `json:"delta"`
	Ms      uint32      `json:"ms"`
	Fn      string      `json:"fn"`
	Args    []uint64    `json:"args"`
	Kind    string      `json:"kind"`
	FD      int         `json:"fd"`
	MB      int         `json:"mb"`
	User    string      `json:"user"`
	Pass    string      `json:"pass"`
	EOS     *bool       `json:"eos"`
	Times   int         `json:"times"`
	Service string      `json:"service"`
	Method  string      `json:"method"`
	Token   uint32      `json:"token"`
	End     bool        `json:"end"`
}

type Script map[string][]Op

var (
	vmScript    Script
	scripts     = map[uint32]Script{} // by root context
	parents     = map[uint32]uint32{} // stream context → root context
	allocs      [][]byte
	curCtx      uint32
	callers     = map[uint32]uint32{}
	lastQueue   uint32
	lastMetric  uint32
	keep        [][]byte
	argSize     uint32
	argEOS      bool
	callerOfCur uint32
	lastGrpc    uint32
)

func ptr(b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&b[0])))
}

func sptr(s string) (uint32, uint32) {
	if len(s) == 0 {
		return 0, 0
	}
	b := []byte(s)
	keep = append(keep, b)
	return ptr(b), uint32(len(b))
}

func u32p(p *uint32) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

func bytesAt(p, n uint32) []byte {
	if p == 0 || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
}

func logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	p, n := sptr(msg)
	proxy_log(2, p, n)
}

//go:wasmexport proxy_on_memory_allocate
func onMemoryAllocate(size uint32) uint32 {
	b := make([]byte, size)
	allocs = append(allocs, b)
	return ptr(b)
}

func enter(hook string, ctx uint32, a, b uint32) {
	allocs = allocs[:0]
	keep = keep[:0]
	curCtx = ctx
	argSize = a
	argEOS = b != 0
	logf("cb:%s ctx=%d a=%d b=%d", hook, ctx, a, b)
}

func run(hook string, def int64) uint32 {
	ret := def
	root := curCtx
	if r, ok := parents[curCtx]; ok {
		root = r
	}
	script, ok := scripts[root]
	if !ok {
		script = vmScript
	}
	for _, op := range script[hook] {
		if op.EOS != nil && *op.EOS != argEOS {
			continue
		}
		n := op.Times
		if n == 0 {
			n = 1
		}
		for i := 0; i < n; i++ {
			if r, ok := exec(hook, op); ok {
				ret = r
			}
		}
	}
	return uint32(ret)
}

func readBuffer(bt uint32, size uint32) []byte {
	var p, n uint32
	if st := proxy_get_buffer_bytes(bt, 0, size, u32p(&p), u32p(&n)); st != 0 {
		return nil
	}
	return append([]byte(nil), bytesAt(p, n)...)
}

// callbackMask is the module's callback mask word (host/callbackmask.go),
// set by the skip_mask operation; maskAddr, when set by skip_mask_addr,
// is the address the export returns instead of the word's.
var (
	callbackMask uint32
	maskAddr     *uint32
)

//go:wasmexport wasmgate_callback_mask
func callbackMaskAddress() uint32 {
	if maskAddr != nil {
		return *maskAddr
	}
	return u32p(&callbackMask)
}

//go:wasmexport proxy_on_vm_start
func onVMStart(ctx, size uint32) uint32 {
	enter("vm_start", ctx, size, 0)
	if size > 0 {
		var s Script
		if err := json.Unmarshal(readBuffer(6, size), &s); err == nil {
			vmScript = s
		}
	}
	return run("vm_start", 1)
}

//go:wasmexport proxy_on_configure
func onConfigure(ctx, size uint32) uint32 {
	enter("configure", ctx, size, 0)
	if size > 0 {
		var s Script
		if err := json.Unmarshal(readBuffer(7, size), &s); err != nil {
			logf("bad script: %v", err)
			return 0
		}
		script := Script{}
		for k, v := range vmScript {
			script[k] = v
		}
		for k, v := range s {
			script[k] = v
		}
		scripts[ctx] = script
	}
	return run("configure", 1)
}

//go:wasmexport proxy_on_context_create
func onContextCreate(ctx, parent uint32) {
	enter("context_create", ctx, parent, 0)
	if parent != 0 {
		parents[ctx] = parent
	}
	run("context_create", 0)
}

//go:wasmexport proxy_on_request_headers
func onRequestHeaders(ctx, n, eos uint32) uint32 {
	enter("request_headers", ctx, n, eos)
	return run("request_headers", 0)
}

//go:wasmexport proxy_on_request_body
func onRequestBody(ctx, n, eos uint32) uint32 {
	enter("request_body", ctx, n, eos)
	return run("request_body", 0)
}

//go:wasmexport proxy_on_request_trailers
func onRequestTrailers(ctx, n uint32) uint32 {
	enter("request_trailers", ctx, n, 0)
	return run("request_trailers", 0)
}

//go:wasmexport proxy_on_response_headers
func onResponseHeaders(ctx, n, eos uint32) uint32 {
	enter("response_headers", ctx, n, eos)
	return run("response_headers", 0)
}

//go:wasmexport proxy_on_response_body
func onResponseBody(ctx, n, eos uint32) uint32 {
	enter("response_body", ctx, n, eos)
	return run("response_body", 0)
}

//go:wasmexport proxy_on_response_trailers
func onResponseTrailers(ctx, n uint32) uint32 {
	enter("response_trailers", ctx, n, 0)
	return run("response_trailers", 0)
}

//go:wasmexport proxy_on_log
func onLog(ctx uint32) {
	enter("log", ctx, 0, 0)
	run("log", 0)
}

//go:wasmexport proxy_on_done
func onDone(ctx uint32) uint32 {
	enter("done", ctx, 0, 0)
	return run("done", 1)
}

//go:wasmexport proxy_on_delete
func onDelete(ctx uint32) {
	enter("delete", ctx, 0, 0)
	run("delete", 0)
	delete(parents, ctx)
}

//go:wasmexport proxy_on_tick
func onTick(ctx uint32) {
	enter("tick", ctx, 0, 0)
	run("tick", 0)
}

//go:wasmexport proxy_on_queue_ready
func onQueueReady(ctx, id uint32) {
	enter("queue_ready", ctx, id, 0)
	run("queue_ready", 0)
}

//go:wasmexport proxy_on_http_call_response
func onHTTPCallResponse(ctx, token, nh, nb, nt uint32) {
	enter("http_call_response", ctx, token, 0)
	logf("http_call_response token=%d headers=%d body=%d trailers=%d", token, nh, nb, nt)
	callerOfCur = callers[token]
	delete(callers, token)
	argSize = nb
	run("http_call_response", 0)
}

//go:wasmexport proxy_on_redis_call_response
func onRedisCallResponse(ctx, token, status, size uint32) {
	enter("redis_call_response", ctx, token, status)
	logf("redis_call_response token=%d status=%d size=%d", token, status, size)
	callerOfCur = callers[token]
	delete(callers, token)
	argSize = size
	run("redis_call_response", 0)
}

func grpcToken(op Op) uint32 {
	if op.Token != 0 {
		return op.Token
	}
	return lastGrpc
}

func grpcMetadata(mt uint32) string {
	var p, n uint32
	st := proxy_get_header_map_pairs(mt, u32p(&p), u32p(&n))
	return fmt.Sprintf("st=%d %s", st, decodePairs(bytesAt(p, n)))
}

//go:wasmexport proxy_on_grpc_receive_initial_metadata
func onGrpcInitialMetadata(ctx, token, n uint32) {
	enter("grpc_initial", ctx, token, n)
	logf("grpc_initial token=%d n=%d %s", token, n, grpcMetadata(4))
	run("grpc_initial", 0)
}

//go:wasmexport proxy_on_grpc_receive
func onGrpcReceive(ctx, token, size uint32) {
	enter("grpc_receive", ctx, token, 0)
	var p, n uint32
	st := proxy_get_buffer_bytes(5, 0, size, u32p(&p), u32p(&n))
	logf("grpc_receive token=%d size=%d st=%d data=%s", token, size, st, printable(bytesAt(p, n)))
	argSize = size
	run("grpc_receive", 0)
}

//go:wasmexport proxy_on_grpc_receive_trailing_metadata
func onGrpcTrailingMetadata(ctx, token, n uint32) {
	enter("grpc_trailing", ctx, token, n)
	logf("grpc_trailing token=%d n=%d %s", token, n, grpcMetadata(5))
	run("grpc_trailing", 0)
}

//go:wasmexport proxy_on_grpc_close
func onGrpcClose(ctx, token, status uint32) {
	enter("grpc_close", ctx, token, status)
	var code, p, n uint32
	st := proxy_get_status(u32p(&code), u32p(&p), u32p(&n))
	logf("grpc_close token=%d status=%d get_status=%d code=%d msg=%s", token, status, st, code, bytesAt(p, n))
	run("grpc_close", 0)
}

//go:wasmexport proxy_on_foreign_function
func onForeignFunction(ctx, id, size uint32) {
	enter("foreign_function", ctx, id, size)
}

func encodePairs(ps [][2]string) []byte {
	size := 4
	for _, p := range ps {
		size += 8 + len(p[0]) + len(p[1]) + 2
	}
	b := make([]byte, size)
	binary.LittleEndian.PutUint32(b, uint32(len(ps)))
	h, d := 4, 4+8*len(ps)
	for _, p := range ps {
		binary.LittleEndian.PutUint32(b[h:], uint32(len(p[0])))
		binary.LittleEndian.PutUint32(b[h+4:], uint32(len(p[1])))
		h += 8
		d += copy(b[d:], p[0]) + 1
		d += copy(b[d:], p[1]) + 1
	}
	return b
}

func decodePairs(b []byte) string {
	if len(b) < 4 {
		return "(none)"
	}
	n := int(binary.LittleEndian.Uint32(b))
	d := 4 + 8*n
	var parts []string
	for i := 0; i < n; i++ {
		kl := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		vl := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		k := string(b[d : d+kl])
		d += kl + 1
		v := string(b[d : d+vl])
		d += vl + 1
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ";")
}

func printable(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return "hex:" + hex.EncodeToString(b)
		}
	}
	return string(b)
}

func opData(op Op) []byte {
	if op.Hex != "" {
		b, _ := hex.DecodeString(op.Hex)
		return b
	}
	return []byte(op.Data)
}

var sink [][]byte

func exec(hook string, op Op) (int64, bool) {
	var p, n, x uint32
	switch op.Op {
	case "return":
		return *op.Value, true
	case "log":
		ptr, size := sptr(op.Msg)
		st := proxy_log(op.Level, ptr, size)
		if st != 0 {
			logf("log st=%d", st)
		}
	case "get_header":
		kp, kn := sptr(op.Key)
		st := proxy_get_header_map_value(op.Map, kp, kn, u32p(&p), u32p(&n))
		logf("get_header %s st=%d val=%s", op.Key, st, bytesAt(p, n))
	case "add_header":
		kp, kn := sptr(op.Key)
		vp, vn := sptr(op.Val)
		logf("add_header st=%d", proxy_add_header_map_value(op.Map, kp, kn, vp, vn))
	case "replace_header":
		kp, kn := sptr(op.Key)
		vp, vn := sptr(op.Val)
		logf("replace_header st=%d", proxy_replace_header_map_value(op.Map, kp, kn, vp, vn))
	case "remove_header":
		kp, kn := sptr(op.Key)
		logf("remove_header st=%d", proxy_remove_header_map_value(op.Map, kp, kn))
	case "get_pairs":
		st := proxy_get_header_map_pairs(op.Map, u32p(&p), u32p(&n))
		logf("get_pairs st=%d ptr0=%v %s", st, p == 0, decodePairs(bytesAt(p, n)))
	case "set_pairs":
		b := opData(op)
		if op.Hex == "" {
			b = encodePairs(op.Pairs)
		}
		keep = append(keep, b)
		logf("set_pairs st=%d", proxy_set_header_map_pairs(op.Map, ptr(b), uint32(len(b))))
	case "map_size":
		st := proxy_get_header_map_size(op.Map, u32p(&x))
		logf("map_size st=%d size=%d", st, x)
	case "get_body":
		max := uint32(op.Max)
		if op.Max < 0 {
			max = argSize
		}
		st := proxy_get_buffer_bytes(op.Buf, op.Start, max, u32p(&p), u32p(&n))
		logf("get_body st=%d len=%d ptr0=%v data=%s", st, n, p == 0, printable(bytesAt(p, n)))
	case "set_body":
		b := opData(op)
		keep = append(keep, b)
		logf("set_body st=%d", proxy_set_buffer_bytes(op.Buf, op.Start, op.Size, ptr(b), uint32(len(b))))
	case "buffer_status":
		var flags uint32
		st := proxy_get_buffer_status(op.Buf, u32p(&x), u32p(&flags))
		logf("buffer_status st=%d len=%d flags=%d", st, x, flags)
	case "continue":
		logf("continue st=%d", proxy_continue_stream(op.Stream))
	case "close":
		logf("close st=%d", proxy_close_stream(op.Stream))
	case "local_reply":
		dp, dn := sptr(op.Details)
		bp, bn := sptr(op.Body)
		h := encodePairs(op.Pairs)
		if op.Hex != "" {
			h = opData(op)
		}
		keep = append(keep, h)
		logf("local_reply st=%d", proxy_send_local_response(op.Status, dp, dn, bp, bn, ptr(h), uint32(len(h)), uint32(op.Grpc)))
	case "http_call":
		up, un := sptr(op.Cluster)
		h := encodePairs(op.Pairs)
		keep = append(keep, h)
		bp, bn := sptr(op.Body)
		var tok uint32
		st := proxy_http_call(up, un, ptr(h), uint32(len(h)), bp, bn, 0, 0, op.Timeout, u32p(&tok))
		if st == 0 {
			callers[tok] = curCtx
		}
		logf("http_call st=%d token=%d", st, tok)
	case "grpc_call", "grpc_stream":
		svc := []byte(op.Cluster)
		if op.Hex != "" {
			svc = opData(op)
		}
		keep = append(keep, svc)
		np, nn := sptr(op.Service)
		mp, mn := sptr(op.Method)
		h := encodePairs(op.Pairs)
		if len(op.Pairs) == 0 {
			h = nil
		}
		keep = append(keep, h)
		var tok, st uint32
		if op.Op == "grpc_call" {
			dp, dn := sptr(op.Data)
			st = proxy_grpc_call(ptr(svc), uint32(len(svc)), np, nn, mp, mn, ptr(h), uint32(len(h)), dp, dn, op.Timeout, u32p(&tok))
		} else {
			st = proxy_grpc_stream(ptr(svc), uint32(len(svc)), np, nn, mp, mn, ptr(h), uint32(len(h)), u32p(&tok))
		}
		if st == 0 {
			lastGrpc = tok
		}
		logf("%s st=%d token=%d", op.Op, st, tok)
	case "grpc_send":
		dp, dn := sptr(op.Data)
		eos := uint32(0)
		if op.End {
			eos = 1
		}
		logf("grpc_send st=%d", proxy_grpc_send(grpcToken(op), dp, dn, eos))
	case "grpc_close":
		logf("grpc_close st=%d", proxy_grpc_close(grpcToken(op)))
	case "grpc_cancel":
		logf("grpc_cancel st=%d", proxy_grpc_cancel(grpcToken(op)))
	case "redis_init":
		cp, cn := sptr(op.Cluster)
		up, un := sptr(op.User)
		pp, pn := sptr(op.Pass)
		logf("redis_init st=%d", proxy_redis_init(cp, cn, up, un, pp, pn, op.Timeout))
	case "redis_call":
		cp, cn := sptr(op.Cluster)
		qp, qn := sptr(op.Data)
		var tok uint32
		st := proxy_redis_call(cp, cn, qp, qn, u32p(&tok))
		if st == 0 {
			callers[tok] = curCtx
		}
		logf("redis_call st=%d token=%d", st, tok)
	case "set_effective":
		id := uint32(op.Ctx)
		if op.Ctx < 0 {
			id = callerOfCur
		}
		logf("set_effective %d st=%d", id, proxy_set_effective_context(id))
	case "get_property":
		path := strings.Join(op.Path, "\x00")
		pp, pn := sptr(path)
		st := proxy_get_property(pp, pn, u32p(&p), u32p(&n))
		logf("get_property %s st=%d len=%d data=%s", strings.Join(op.Path, "."), st, n, printable(bytesAt(p, n)))
	case "set_property":
		path := strings.Join(op.Path, "\x00")
		pp, pn := sptr(path)
		vp, vn := sptr(op.Val)
		logf("set_property %s st=%d", strings.Join(op.Path, "."), proxy_set_property(pp, pn, vp, vn))
	case "shared_get":
		kp, kn := sptr(op.Key)
		var cas uint32
		st := proxy_get_shared_data(kp, kn, u32p(&p), u32p(&n), u32p(&cas))
		logf("shared_get %s st=%d val=%s cas=%d", op.Key, st, bytesAt(p, n), cas)
	case "shared_set":
		kp, kn := sptr(op.Key)
		vp, vn := sptr(op.Val)
		logf("shared_set %s st=%d", op.Key, proxy_set_shared_data(kp, kn, vp, vn, op.Cas))
	case "queue_register":
		np, nn := sptr(op.Name)
		st := proxy_register_shared_queue(np, nn, u32p(&lastQueue))
		logf("queue_register st=%d id=%d", st, lastQueue)
	case "queue_resolve":
		vp, vn := sptr(op.VMID)
		np, nn := sptr(op.Name)
		st := proxy_resolve_shared_queue(vp, vn, np, nn, u32p(&x))
		if st == 0 {
			lastQueue = x
		}
		logf("queue_resolve st=%d id=%d", st, x)
	case "enqueue":
		id := uint32(op.ID)
		if op.ID == 0 {
			id = lastQueue
		}
		vp, vn := sptr(op.Val)
		logf("enqueue st=%d", proxy_enqueue_shared_queue(id, vp, vn))
	case "dequeue":
		id := uint32(op.ID)
		if op.ID == 0 {
			id = lastQueue
		}
		st := proxy_dequeue_shared_queue(id, u32p(&p), u32p(&n))
		logf("dequeue st=%d val=%s", st, bytesAt(p, n))
	case "define_metric":
		np, nn := sptr(op.Name)
		st := proxy_define_metric(op.Type, np, nn, u32p(&lastMetric))
		logf("define_metric st=%d id=%d", st, lastMetric)
	case "increment_metric":
		id := uint32(op.ID)
		if op.ID == 0 {
			id = lastMetric
		}
		logf("increment_metric st=%d", proxy_increment_metric(id, op.Delta))
	case "record_metric":
		id := uint32(op.ID)
		if op.ID == 0 {
			id = lastMetric
		}
		logf("record_metric st=%d", proxy_record_metric(id, uint64(op.Delta)))
	case "get_metric":
		id := uint32(op.ID)
		if op.ID == 0 {
			id = lastMetric
		}
		var v uint64
		st := proxy_get_metric(id, uint32(uintptr(unsafe.Pointer(&v))))
		logf("get_metric st=%d val=%d", st, int64(v))
	case "tick":
		logf("tick st=%d", proxy_set_tick_period_milliseconds(op.Ms))
	case "foreign":
		np, nn := sptr(op.Name)
		a := opData(op)
		keep = append(keep, a)
		st := proxy_call_foreign_function(np, nn, ptr(a), uint32(len(a)), u32p(&p), u32p(&n))
		logf("foreign %s st=%d len=%d data=%s", op.Name, st, n, hex.EncodeToString(bytesAt(p, n)))
	case "get_status":
		st := proxy_get_status(u32p(&x), u32p(&p), u32p(&n))
		logf("get_status st=%d code=%d msg=%s", st, x, bytesAt(p, n))
	case "time":
		var t uint64
		st := proxy_get_current_time_nanoseconds(uint32(uintptr(unsafe.Pointer(&t))))
		logf("time st=%d ns=%d", st, t)
	case "log_level":
		st := proxy_get_log_level(u32p(&x))
		logf("log_level st=%d level=%d", st, x)
	case "done":
		logf("done st=%d", proxy_done())
	case "skip_mask":
		callbackMask = uint32(*op.Value)
	case "skip_mask_addr":
		a := uint32(*op.Value)
		maskAddr = &a
	case "inject":
		bp, bn := sptr(op.Data)
		e := uint32(0)
		if op.EOS != nil && *op.EOS {
			e = 1
		}
		logf("inject st=%d", proxy_inject_encoded_data_to_filter_chain(bp, bn, e))
	case "override_host":
		ap, an := sptr(op.Val)
		logf("override_host st=%d", proxy_set_upstream_override_host(ap, an))
	case "upstream_hosts":
		st := proxy_get_upstream_hosts(u32p(&p), u32p(&n))
		logf("upstream_hosts st=%d %s", st, decodePairs(bytesAt(p, n)))
	case "print":
		if op.FD == 2 {
			fmt.Fprintln(os.Stderr, op.Msg)
		} else {
			fmt.Fprintln(os.Stdout, op.Msg)
		}
	case "env":
		v, ok := os.LookupEnv(op.Name)
		logf("env %s=%s ok=%v", op.Name, v, ok)
	case "environ":
		logf("environ %s", strings.Join(os.Environ(), ","))
	case "raw":
		logf("raw %s st=%d", op.Fn, raw(op.Fn, op.Args))
	case "trap":
		switch op.Kind {
		case "panic":
			panic("scripted panic")
		case "nil":
			var m map[string]int
			m["x"] = 1
		default:
			var a []int
			_ = a[argSize+10]
		}
	case "loop":
		for i := uint64(0); ; i++ {
			if i == 1<<62 {
				logf("unreachable")
			}
		}
	case "grow":
		sink = append(sink, make([]byte, op.MB<<20))
		runtime.KeepAlive(sink)
		logf("grow ok")
	case "gc":
		runtime.GC()
	case "gonow":
		logf("gonow unix=%d", time.Now().Unix())
	case "sleep":
		time.Sleep(time.Duration(op.Ms) * time.Millisecond)
		logf("slept")
	default:
		logf("unknown op %q", op.Op)
	}
	return 0, false
}

func a(args []uint64, i int) uint32 {
	if i < len(args) {
		return uint32(args[i])
	}
	return 0
}

// raw calls a host function with arbitrary (possibly hostile) arguments.
func raw(fn string, args []uint64) uint32 {
	x := func(i int) uint32 { return a(args, i) }
	switch fn {
	case "proxy_log":
		return proxy_log(x(0), x(1), x(2))
	case "proxy_get_log_level":
		return proxy_get_log_level(x(0))
	case "proxy_get_current_time_nanoseconds":
		return proxy_get_current_time_nanoseconds(x(0))
	case "proxy_get_status":
		return proxy_get_status(x(0), x(1), x(2))
	case "proxy_get_property":
		return proxy_get_property(x(0), x(1), x(2), x(3))
	case "proxy_set_property":
		return proxy_set_property(x(0), x(1), x(2), x(3))
	case "proxy_continue_stream":
		return proxy_continue_stream(x(0))
	case "proxy_close_stream":
		return proxy_close_stream(x(0))
	case "proxy_send_local_response":
		return proxy_send_local_response(x(0), x(1), x(2), x(3), x(4), x(5), x(6), x(7))
	case "proxy_get_shared_data":
		return proxy_get_shared_data(x(0), x(1), x(2), x(3), x(4))
	case "proxy_set_shared_data":
		return proxy_set_shared_data(x(0), x(1), x(2), x(3), x(4))
	case "proxy_register_shared_queue":
		return proxy_register_shared_queue(x(0), x(1), x(2))
	case "proxy_resolve_shared_queue":
		return proxy_resolve_shared_queue(x(0), x(1), x(2), x(3), x(4))
	case "proxy_enqueue_shared_queue":
		return proxy_enqueue_shared_queue(x(0), x(1), x(2))
	case "proxy_dequeue_shared_queue":
		return proxy_dequeue_shared_queue(x(0), x(1), x(2))
	case "proxy_get_header_map_value":
		return proxy_get_header_map_value(x(0), x(1), x(2), x(3), x(4))
	case "proxy_add_header_map_value":
		return proxy_add_header_map_value(x(0), x(1), x(2), x(3), x(4))
	case "proxy_replace_header_map_value":
		return proxy_replace_header_map_value(x(0), x(1), x(2), x(3), x(4))
	case "proxy_remove_header_map_value":
		return proxy_remove_header_map_value(x(0), x(1), x(2))
	case "proxy_get_header_map_pairs":
		return proxy_get_header_map_pairs(x(0), x(1), x(2))
	case "proxy_set_header_map_pairs":
		return proxy_set_header_map_pairs(x(0), x(1), x(2))
	case "proxy_get_header_map_size":
		return proxy_get_header_map_size(x(0), x(1))
	case "proxy_get_buffer_bytes":
		return proxy_get_buffer_bytes(x(0), x(1), x(2), x(3), x(4))
	case "proxy_set_buffer_bytes":
		return proxy_set_buffer_bytes(x(0), x(1), x(2), x(3), x(4))
	case "proxy_get_buffer_status":
		return proxy_get_buffer_status(x(0), x(1), x(2))
	case "proxy_http_call":
		return proxy_http_call(x(0), x(1), x(2), x(3), x(4), x(5), x(6), x(7), x(8), x(9))
	case "proxy_define_metric":
		return proxy_define_metric(x(0), x(1), x(2), x(3))
	case "proxy_increment_metric":
		return proxy_increment_metric(x(0), int64(a(args, 1)))
	case "proxy_record_metric":
		return proxy_record_metric(x(0), uint64(a(args, 1)))
	case "proxy_get_metric":
		return proxy_get_metric(x(0), x(1))
	case "proxy_set_effective_context":
		return proxy_set_effective_context(x(0))
	case "proxy_call_foreign_function":
		return proxy_call_foreign_function(x(0), x(1), x(2), x(3), x(4), x(5))
	case "proxy_redis_init":
		return proxy_redis_init(x(0), x(1), x(2), x(3), x(4), x(5), x(6))
	case "proxy_redis_call":
		return proxy_redis_call(x(0), x(1), x(2), x(3), x(4))
	case "proxy_inject_encoded_data_to_filter_chain":
		return proxy_inject_encoded_data_to_filter_chain(x(0), x(1), x(2))
	case "proxy_set_upstream_override_host":
		return proxy_set_upstream_override_host(x(0), x(1))
	case "proxy_get_upstream_hosts":
		return proxy_get_upstream_hosts(x(0), x(1))
	}
	logf("raw: unknown function %s", fn)
	return 999
}

var _ = strconv.Itoa
