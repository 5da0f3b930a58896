package host

// The callback-mask extension lets a module say which stream callbacks it
// would answer with Continue and nothing else, so that the host need not
// enter the module for them. Like the fast path it is invisible to a host
// without it (Envoy, Higress), which never calls the export, and to the
// module, which gets every callback that can change something:
//
//  1. The module exports CallbackMaskExport, a function without
//     parameters that returns the address of a 32-bit little-endian word
//     in its linear memory.
//  2. The host calls it once, after the first proxy_on_configure of the
//     VM, and from then on reads the word before each stream callback it
//     covers: when the callback's bit is set, the host behaves as if the
//     module had been called and returned Continue (for proxy_on_done:
//     true). The module may change the word at any time; the next
//     callback sees the change.
//  3. The host never skips for a traced stream (StreamOptions.Observer),
//     and EngineConfig.NoCallbackMask turns the extension off.
//
// The engine's SDK (sdk/) sets the bits of the callbacks its wrapper has
// no work for (a plugin without response handlers, say), and clears the
// word while an HTTP, Redis or gRPC callout of the VM is pending.
const (
	// CallbackMaskExport is the name of the module's export.
	CallbackMaskExport = "wasmgate_callback_mask"

	// The bits of the word, one per callback.
	MaskRequestHeaders   uint32 = 1 << 0 // proxy_on_request_headers
	MaskRequestBody      uint32 = 1 << 1 // proxy_on_request_body
	MaskRequestTrailers  uint32 = 1 << 2 // proxy_on_request_trailers
	MaskResponseHeaders  uint32 = 1 << 3 // proxy_on_response_headers
	MaskResponseBody     uint32 = 1 << 4 // proxy_on_response_body
	MaskResponseTrailers uint32 = 1 << 5 // proxy_on_response_trailers
	MaskLog              uint32 = 1 << 6 // proxy_on_log of a stream
	MaskDone             uint32 = 1 << 7 // proxy_on_done of a stream (never of a root context)
)

// readCallbackMask asks the module for the address of its mask word. A
// module without the export, or one that returns an address outside its
// memory, keeps every callback. It returns an error only when the export
// fails (the VM is then failed, as after any trap).
func (v *vm) readCallbackMask(rc *rootCtx) error {
	if v.maskRead {
		return nil
	}
	v.maskRead = true
	if v.e.cfg.NoCallbackMask {
		return nil
	}
	d, ok := v.g.mod.exports[CallbackMaskExport]
	if !ok || len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 1 {
		return nil
	}
	// The result is read off the stack: callTop's result rule is that of
	// the callback kind it runs as, which this export is not.
	if _, err := v.callTop(cbConfigure, rc.id, v.mod.ExportedFunction(CallbackMaskExport), 0, rc.p.startTimeout); err != nil {
		return err
	}
	addr := uint32(v.stack[0])
	mem := v.mod.Memory()
	if mem == nil {
		return nil
	}
	if _, ok := mem.ReadUint32Le(addr); !ok {
		return nil
	}
	v.maskAddr, v.maskMem = addr, mem
	return nil
}

// skips reports whether the module's mask word has bit set.
func (v *vm) skips(bit uint32) bool {
	if v.maskMem == nil {
		return false
	}
	w, ok := v.maskMem.ReadUint32Le(v.maskAddr)
	return ok && w&bit != 0
}

// skipped reports whether the stream's callback of bit is skipped; a
// traced stream gets every callback.
func (s *Stream) skipped(bit uint32) bool {
	return s.opts.Observer == nil && s.v.skips(bit)
}

// skipAsContinue is skipped for a header, body or trailers callback, whose
// result the stream records: a skipped one returned Continue (0 for all
// three).
func (s *Stream) skipAsContinue(bit uint32) bool {
	if !s.skipped(bit) {
		return false
	}
	s.lastResult = 0
	return true
}
