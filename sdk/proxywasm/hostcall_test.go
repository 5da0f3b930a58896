//go:build !wasm

package proxywasm

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wasmgate/wasmgate/sdk/internal/fakehost"
	"github.com/wasmgate/wasmgate/sdk/internal/vmstate"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

func newHost(t *testing.T) *fakehost.Host {
	vmstate.Reset()
	h := fakehost.New()
	t.Cleanup(h.Close)
	return h
}

func TestNoHostAnswersUnimplemented(t *testing.T) {
	vmstate.Reset()
	if _, err := GetHttpRequestHeader("x"); !errors.Is(err, types.ErrorUnimplemented) {
		t.Fatalf("err = %v", err)
	}
	if err := RedisInit("c", "", "", 1); !errors.Is(err, types.ErrorUnimplemented) {
		t.Fatalf("err = %v", err)
	}
}

func TestHeaderCalls(t *testing.T) {
	h := newHost(t)
	h.Maps[types.MapTypeHttpRequestHeaders] = [][2]string{{":path", "/"}, {"x-dup", "1"}, {"x-dup", "2"}, {"empty", ""}}
	if v, err := GetHttpRequestHeader("x-dup"); err != nil || v != "1" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if v, err := GetHttpRequestHeader("empty"); err != nil || v != "" {
		t.Fatalf("get empty = %q, %v", v, err)
	}
	if _, err := GetHttpRequestHeader("missing"); !errors.Is(err, types.ErrorStatusNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if err := AddHttpRequestHeader("Hello", "world"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceHttpRequestHeader("x-dup", "3"); err != nil {
		t.Fatal(err)
	}
	if err := RemoveHttpRequestHeader("empty"); err != nil {
		t.Fatal(err)
	}
	got, err := GetHttpRequestHeaders()
	want := [][2]string{{":path", "/"}, {"hello", "world"}, {"x-dup", "3"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("headers = %v, %v; want %v", got, err, want)
	}
	if err := ReplaceHttpResponseHeaders([][2]string{{":status", "200"}}); err != nil {
		t.Fatal(err)
	}
	if v, _ := GetHttpResponseHeader(":status"); v != "200" {
		t.Fatalf(":status = %q", v)
	}
	if _, err := GetHttpRequestTrailer("x"); !errors.Is(err, types.ErrorStatusBadArgument) {
		t.Fatalf("unavailable map: %v", err)
	}
}

func TestBodyCalls(t *testing.T) {
	h := newHost(t)
	h.Buffers[types.BufferTypeHttpRequestBody] = []byte("middle")
	if err := PrependHttpRequestBody([]byte("<")); err != nil {
		t.Fatal(err)
	}
	if err := AppendHttpRequestBody([]byte(">")); err != nil {
		t.Fatal(err)
	}
	if b, err := GetHttpRequestBody(0, 100); err != nil || string(b) != "<middle>" {
		t.Fatalf("body = %q, %v", b, err)
	}
	if b, _ := GetHttpRequestBody(1, 3); string(b) != "mid" {
		t.Fatalf("slice = %q", b)
	}
	if err := ReplaceHttpRequestBody([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := GetHttpRequestBody(0, 100); string(b) != "new" {
		t.Fatalf("replaced = %q", b)
	}
	if _, err := GetHttpRequestBody(-1, 1); !errors.Is(err, types.ErrorStatusBadArgument) {
		t.Fatalf("negative start: %v", err)
	}
	if _, err := GetHttpResponseBody(0, 1); !errors.Is(err, types.ErrorStatusNotFound) {
		t.Fatalf("absent buffer: %v", err)
	}
}

func TestPropertiesAndSharedData(t *testing.T) {
	h := newHost(t)
	if err := SetProperty([]string{"x_request_id"}, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if v, err := GetProperty([]string{"x_request_id"}); err != nil || string(v) != "abc" {
		t.Fatalf("property = %q, %v", v, err)
	}
	h.Properties["request\x00headers"] = []byte{1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 'b', 0}
	if m, err := GetPropertyMap([]string{"request", "headers"}); err != nil || !reflect.DeepEqual(m, [][2]string{{"a", "b"}}) {
		t.Fatalf("map = %v, %v", m, err)
	}
	if err := SetProperty(nil, []byte("x")); err == nil {
		t.Fatal("empty path accepted")
	}
	if err := SetProperty([]string{"k"}, nil); err == nil {
		t.Fatal("empty value accepted")
	}
	if err := SetSharedData("k", []byte("v1"), 0); err != nil {
		t.Fatal(err)
	}
	v, cas, err := GetSharedData("k")
	if err != nil || string(v) != "v1" || cas == 0 {
		t.Fatalf("shared = %q %d %v", v, cas, err)
	}
	if err := SetSharedData("k", []byte("v2"), cas+1); !errors.Is(err, types.ErrorStatusCasMismatch) {
		t.Fatalf("stale cas: %v", err)
	}
	if err := SetSharedData("k", []byte("v2"), cas); err != nil {
		t.Fatal(err)
	}
}

func TestLocalResponseAndResume(t *testing.T) {
	h := newHost(t)
	if err := SendHttpResponseWithDetail(403, "key-auth.unauthorized", [][2]string{{"www-authenticate", "Key"}}, []byte("denied"), -1); err != nil {
		t.Fatal(err)
	}
	r := h.LocalReplies[0]
	if r.Status != 403 || r.Details != "key-auth.unauthorized" || r.Body != "denied" || r.Headers[0][0] != "www-authenticate" {
		t.Fatalf("reply = %+v", r)
	}
	_ = ResumeHttpRequest()
	_ = ResumeHttpResponse()
	if !reflect.DeepEqual(h.Continued, []types.StreamType{types.StreamTypeRequest, types.StreamTypeResponse}) {
		t.Fatalf("continued = %v", h.Continued)
	}
}

type recordingVM struct {
	types.DefaultVMContext
	events *[]string
}

func (v *recordingVM) NewPluginContext(uint32) types.PluginContext {
	return &recordingPlugin{events: v.events}
}

type recordingPlugin struct {
	types.DefaultPluginContext
	events *[]string
}

func (p *recordingPlugin) NewHttpContext(id uint32) types.HttpContext {
	return &recordingHttp{events: p.events}
}

type recordingHttp struct {
	types.DefaultHttpContext
	events *[]string
}

func (r *recordingHttp) OnHttpRequestHeaders(int, bool) types.Action {
	_, err := DispatchHttpCall("c", [][2]string{{":method", "GET"}}, nil, nil, 100, func(nh, bs, nt int) {
		body, _ := GetHttpCallResponseBody(0, bs)
		*r.events = append(*r.events, "callback:"+string(body))
	})
	if err != nil {
		*r.events = append(*r.events, "dispatch error")
	}
	return types.HeaderStopAllIterationAndWatermark
}

func TestCalloutDeliveredToCallerOnlyWhileAlive(t *testing.T) {
	h := newHost(t)
	var events []string
	SetVMContext(&recordingVM{events: &events})
	h.Start("")
	s := h.NewStream()
	s.RequestHeaders(nil, true)
	s2 := h.NewStream()
	s2.RequestHeaders(nil, true)
	h.RespondHttpCall(h.HttpCalls[0].Token, nil, []byte("one"))
	s2.Done() // the second caller is gone before its answer
	h.RespondHttpCall(h.HttpCalls[1].Token, nil, []byte("two"))
	h.RespondHttpCall(999, nil, []byte("unknown token"))
	if !reflect.DeepEqual(events, []string{"callback:one"}) {
		t.Fatalf("events = %v", events)
	}
}

func TestContextCreateBeforeRegistrationLogsHint(t *testing.T) {
	h := newHost(t)
	vmstate.OnContextCreate(1, 0)
	if !h.HasLog(types.LogLevelCritical, "register the plugin in init()") {
		t.Fatalf("logs = %v", h.Logs)
	}
}

type grpcVM struct {
	types.DefaultVMContext
	events *[]string
}

func (v *grpcVM) NewPluginContext(uint32) types.PluginContext { return &grpcPlugin{events: v.events} }

type grpcPlugin struct {
	types.DefaultPluginContext
	events *[]string
}

func (p *grpcPlugin) NewHttpContext(uint32) types.HttpContext { return &grpcHttp{events: p.events} }

type grpcHttp struct {
	types.DefaultHttpContext
	events *[]string
}

func (r *grpcHttp) OnHttpRequestHeaders(int, bool) types.Action {
	add := func(s string) { *r.events = append(*r.events, s) }
	svc := GrpcService("grpc-c", "", nil)
	if _, err := DispatchGrpcCall(svc, "s.S", "Unary", [][2]string{{"k", "v"}}, []byte("req"), 100, func(status uint32, size int) {
		if status != 0 {
			_, msg, _ := GetGrpcStatus()
			add("call failed:" + msg)
			return
		}
		b, _ := GetGrpcCallResponseBody(0, size)
		add("call:" + string(b))
	}); err != nil {
		add("dispatch error")
	}
	id, err := OpenGrpcStream("grpc-c", "s.S", "Chat", nil, GrpcStreamHandler{
		OnInitialMetadata: func(int) {
			md, _ := GetGrpcStreamInitialMetadata()
			add("initial:" + md[0][1])
		},
		OnMessage: func(size int) {
			b, _ := GetGrpcStreamMessage(0, size)
			add("message:" + string(b))
		},
		OnTrailingMetadata: func(int) {
			md, _ := GetGrpcStreamTrailingMetadata()
			add("trailing:" + md[0][1])
		},
		OnClose: func(status uint32) { add("close:" + string(rune('0'+status))) },
	})
	if err != nil {
		add("open error")
	}
	_ = SendGrpcStreamMessage(id, []byte("m1"), true)
	return types.HeaderStopAllIterationAndWatermark
}

func TestGrpcCalloutsDispatch(t *testing.T) {
	h := newHost(t)
	var events []string
	SetVMContext(&grpcVM{events: &events})
	h.Start("")
	s := h.NewStream()
	s.RequestHeaders(nil, true)
	call, stream := h.GrpcCalls[0], h.GrpcCalls[1]
	// The service is a serialized GrpcService: envoy_grpc{cluster_name: "grpc-c"}.
	if call.Token != 5 || call.Service != "\x0a\x08\x0a\x06grpc-c" || call.Method != "Unary" || string(call.Message) != "req" ||
		call.Metadata[0] != [2]string{"k", "v"} || stream.Token != 6 || string(stream.Sent[0]) != "m1" || !stream.HalfClosed {
		t.Fatalf("calls = %+v", h.GrpcCalls)
	}
	h.GrpcInitialMetadata(6, [][2]string{{"x", "h"}})
	h.GrpcReceive(6, []byte("a"))
	h.GrpcReceive(5, []byte("resp"))
	h.GrpcTrailingMetadata(6, [][2]string{{"grpc-status", "0"}})
	h.GrpcRemoteClose(6, 0, "")
	h.GrpcRemoteClose(6, 0, "") // forgotten after its close
	h.GrpcReceive(5, []byte("again"))
	want := []string{"initial:h", "message:a", "call:resp", "trailing:0", "close:0"}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %v, want %v", events, want)
	}
	// A failure reports the status message; a cancelled call and a gone
	// caller get no callback.
	events = nil
	s2 := h.NewStream()
	s2.RequestHeaders(nil, true)
	h.GrpcRemoteClose(9, 14, "unavailable")
	if err := CancelGrpcStream(10); err != nil {
		t.Fatal(err)
	}
	h.GrpcRemoteClose(10, 1, "cancelled")
	s3 := h.NewStream()
	s3.RequestHeaders(nil, true)
	s3.Done()
	h.GrpcReceive(13, []byte("late"))
	if !reflect.DeepEqual(events, []string{"call failed:unavailable"}) || !h.GrpcCalls[3].Cancelled {
		t.Fatalf("events = %v, calls = %+v", events, h.GrpcCalls)
	}
}
