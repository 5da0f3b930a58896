package host

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func compileWat(t *testing.T, e *Engine, name string) *Module {
	t.Helper()
	m, err := e.Compile(context.Background(), wat(t, name))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	return m
}

func startPlugin(t *testing.T, e *Engine, m *Module, cfg PluginConfig) (*Plugin, *logRecorder) {
	t.Helper()
	rec := newRecorder()
	if cfg.Logger == nil {
		cfg.Logger = rec.logger()
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 1
	}
	p, err := e.NewPlugin(context.Background(), m, cfg)
	if err != nil {
		t.Fatalf("NewPlugin: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, rec
}

func TestScriptedSmoke(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"get_header","map":0,"key":":path"},{"op":"add_header","map":0,"key":"X-Added","val":"v"}]}`)
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	r := s.RequestHeaders(h, true)
	if r.Action != ActionContinue || r.Headers != h || !r.EndStream {
		t.Fatalf("result = %+v", r)
	}
	rec.mustHave(t, "get_header :path st=0 val=/p?q=1", "add_header st=0")
	if v, _ := h.Get("x-added"); v != "v" {
		t.Fatalf("header not added: %v", h.Fields)
	}
	s.Done()
}

func TestLoadNoABIMarker(t *testing.T) {
	_, err := testEngine(t).Compile(context.Background(), wat(t, "no_marker"))
	if !errors.Is(err, ErrNoABIVersion) || !strings.Contains(err.Error(), "ABI version") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadABIVersions(t *testing.T) {
	e := testEngine(t)
	for name, want := range map[string]ABIVersion{"start": ABI_0_2_0, "malloc_only": ABI_0_2_1, "abi_0_1_0": ABI_0_1_0} {
		if got := compileWat(t, e, name).ABI(); got != want {
			t.Errorf("%s: ABI %v, want %v", name, got, want)
		}
	}
	if got := scriptedModule(t, e, false).ABI(); got != ABI_0_2_100 {
		t.Errorf("scripted: %v", got)
	}
	if got := scriptedModule(t, e, true).ABI(); got != ABI_0_2_1 {
		t.Errorf("scripted abi021: %v", got)
	}
	if ABI_0_2_100.String() != "0_2_100" {
		t.Error(ABI_0_2_100.String())
	}
}

func TestLoadNoAllocator(t *testing.T) {
	_, err := testEngine(t).Compile(context.Background(), watSource(t, `(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1")))`))
	if err == nil || !strings.Contains(err.Error(), "allocator") {
		t.Fatalf("err = %v", err)
	}
}

func TestStartFunctionStart(t *testing.T) {
	e := testEngine(t)
	// configure returns the "started" flag: NewPlugin fails unless _start ran.
	startPlugin(t, e, compileWat(t, e, "start"), PluginConfig{Name: "start"})
}

func TestStartInitializeThenMain(t *testing.T) {
	e := testEngine(t)
	startPlugin(t, e, compileWat(t, e, "initialize_main"), PluginConfig{Name: "init-main"})
}

func TestMallocOnlyAllocator(t *testing.T) {
	e := testEngine(t)
	p, rec := startPlugin(t, e, compileWat(t, e, "malloc_only"), PluginConfig{Name: "malloc"})
	s := p.NewStream(StreamOptions{})
	h := reqHeaders()
	h.Add("x-empty", "")
	// The module traps on malloc(0) and on a non-zero pointer for empty results.
	if r := s.RequestHeaders(h, true); r.Action != ActionContinue {
		t.Fatalf("result %+v (%v)", r, rec.all())
	}
	rec.mustHave(t, "/p?q=1")
	s.Done()
}

func TestAllocatorPrefersProxyOnMemoryAllocate(t *testing.T) {
	e := testEngine(t)
	m, err := e.Compile(context.Background(), watSource(t, `
(module
  (import "env" "proxy_get_buffer_bytes" (func $gb (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) unreachable)
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 2048))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $gb (i32.const 7) (i32.const 0) (local.get 1) (i32.const 100) (i32.const 104)))
    (i32.and (i32.eq (i32.load (i32.const 100)) (i32.const 2048)) (i32.eq (i32.load8_u (i32.const 2048)) (i32.const 120)))))`))
	if err != nil {
		t.Fatal(err)
	}
	startPlugin(t, e, m, PluginConfig{Name: "alloc", Configuration: []byte("xyz")})
}

func TestRustSDKImportsLink(t *testing.T) {
	e := testEngine(t)
	m := compileWat(t, e, "rust_sdk_imports")
	if len(m.Imports()) < 60 {
		t.Fatalf("imports: %d", len(m.Imports()))
	}
	startPlugin(t, e, m, PluginConfig{Name: "rust-imports"})
	// Every env function the engine registers is in the module's import list.
	have := map[string]bool{}
	for _, im := range m.Imports() {
		if im.Module == "env" {
			have[im.Name] = true
		}
	}
	for _, n := range EnvFunctionNames() {
		if !have[n] {
			t.Errorf("rust_sdk_imports.wat does not import env.%s", n)
		}
	}
}

func TestEmscriptenImports(t *testing.T) {
	e := testEngine(t)
	startPlugin(t, e, compileWat(t, e, "emscripten"), PluginConfig{Name: "emscripten"})
}

func TestABI010HeaderCallback(t *testing.T) {
	e := testEngine(t)
	p, _ := startPlugin(t, e, compileWat(t, e, "abi_0_1_0"), PluginConfig{Name: "v010", Configuration: []byte("ok")})
	s := p.NewStream(StreamOptions{})
	// 6 headers: the module pauses (0.1.0 pause = StopAllIterationAndWatermark).
	if r := s.RequestHeaders(reqHeaders(), false); r.Action != ActionStop {
		t.Fatalf("result %+v", r)
	}
	if !s.RouteCacheCleared() {
		t.Fatal("proxy_clear_route_cache had no effect")
	}
	s.Done()
}

func TestCompileOncePerHash(t *testing.T) {
	dir := t.TempDir()
	e := newTestEngine(t, EngineConfig{CacheDir: dir})
	b := wat(t, "malloc_only")
	m1, err := e.Compile(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := e.Compile(context.Background(), append([]byte(nil), b...))
	if err != nil || m1 != m2 {
		t.Fatalf("second compile gave a new module (%v)", err)
	}
	if len(m1.Hash()) != 64 || m1.Size() != len(b) {
		t.Fatal(m1.Hash(), m1.Size())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) == 0 {
		t.Fatal("nothing in the disk cache")
	}
}

func TestContextIDsAndStartOrder(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{}`)
	for i := 0; i < 3; i++ {
		s := p.NewStream(StreamOptions{})
		s.RequestHeaders(reqHeaders(), true)
		s.Done()
	}
	got := strings.Join(rec.callbacks(), "\n")
	want := strings.Join([]string{
		"cb:context_create ctx=1 a=0 b=0",
		"cb:vm_start ctx=1 a=0 b=0",
		"cb:configure ctx=1 a=2 b=0",
		"cb:context_create ctx=2 a=1 b=0",
		"cb:request_headers ctx=2 a=6 b=1",
		"cb:log ctx=2 a=0 b=0",
		"cb:done ctx=2 a=0 b=0",
		"cb:delete ctx=2 a=0 b=0",
		"cb:context_create ctx=3 a=1 b=0",
		"cb:request_headers ctx=3 a=6 b=1",
		"cb:log ctx=3 a=0 b=0",
		"cb:done ctx=3 a=0 b=0",
		"cb:delete ctx=3 a=0 b=0",
		"cb:context_create ctx=4 a=1 b=0",
	}, "\n")
	if !strings.HasPrefix(got, want) {
		t.Fatalf("callbacks:\n%s\nwant prefix:\n%s", got, want)
	}
}

func TestConfigureFalseRejected(t *testing.T) {
	e := testEngine(t)
	_, err := e.NewPlugin(context.Background(), scriptedModule(t, e, false), PluginConfig{
		Name: "reject", PoolSize: 1, Configuration: []byte(`{"configure":[{"op":"return","value":0}]}`),
		Logger: newRecorder().logger(),
	})
	if !errors.Is(err, ErrConfigureFailed) || !strings.Contains(err.Error(), "proxy_on_configure returned false") || !strings.Contains(err.Error(), "reject") {
		t.Fatalf("err = %v", err)
	}
}

func TestVMStartFalseRejected(t *testing.T) {
	e := testEngine(t)
	_, err := e.NewPlugin(context.Background(), scriptedModule(t, e, false), PluginConfig{
		Name: "reject-vm", PoolSize: 1, VMConfiguration: []byte(`{"vm_start":[{"op":"return","value":0}]}`),
		Logger: newRecorder().logger(),
	})
	if !errors.Is(err, ErrVMStartFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigurationBuffers(t *testing.T) {
	e := testEngine(t)
	script := `{"configure":[{"op":"get_body","buf":7,"max":1000},{"op":"get_body","buf":6,"max":1000}],"request_headers":[{"op":"get_body","buf":7,"max":1000},{"op":"get_body","buf":6,"max":1000}]}`
	p, rec := scripted(t, e, false, script, withVMConfig(`{"x":1}`))
	rec.mustHave(t, `get_body st=0 len=`+itoa(len(script))+` ptr0=false data={"configure"`, `get_body st=0 len=7 ptr0=false data={"x":1}`)
	rec.reset()
	s := p.NewStream(StreamOptions{})
	s.RequestHeaders(reqHeaders(), true)
	s.Done()
	// Plugin configuration: NotFound outside on_configure; VM configuration always.
	rec.mustHave(t, "get_body st=1 len=0", `get_body st=0 len=7 ptr0=false data={"x":1}`)
}

func TestPoolSizeAndPrewarm(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{}`, withPool(3))
	if p.VMCount() != 3 {
		t.Fatalf("VMCount = %d", p.VMCount())
	}
	n := rec.count("cb:configure")
	if n != 3 {
		t.Fatalf("configure ran %d times", n)
	}
}

// A module of a few bytes declaring two billion exports is refused at
// once, before wazero would allocate for all of them.
func TestLoadImpossibleCounts(t *testing.T) {
	m := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x0a\x02\x60\x00\x01\x7f\x60\x01\x7f\x01\x7f" + // types
		"\x07\x05\xff\xff\xff\xff\x07") // exports: 2^31-1 of them in 5 bytes
	start := time.Now()
	_, err := testEngine(t).Compile(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), "export section: 2147483647 entries cannot fit") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}
