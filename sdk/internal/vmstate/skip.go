package vmstate

// The callbacks a host with the callback-mask extension (wasmgate's; see
// host/callbackmask.go in the engine) need not make, because the SDK would
// answer them with Continue and change nothing. The values are the
// extension's bits. Envoy and Higress never read the word: there every
// callback is made, and the SDK answers it as before.
const (
	SkipRequestHeaders   uint32 = 1 << 0
	SkipRequestBody      uint32 = 1 << 1
	SkipRequestTrailers  uint32 = 1 << 2
	SkipResponseHeaders  uint32 = 1 << 3
	SkipResponseBody     uint32 = 1 << 4
	SkipResponseTrailers uint32 = 1 << 5
	SkipLog              uint32 = 1 << 6 // proxy_on_log of a stream
	SkipDone             uint32 = 1 << 7 // proxy_on_done of a stream
)

// skipWord is the word the host reads before each callback it covers: the
// declared callbacks, or none while a callout of the VM is pending (its
// callback may look at a stream's state, which a skipped callback would
// have kept up to date).
var skipWord uint32

// SkipWord returns the address of the mask word, for the extension's export.
func SkipWord() *uint32 { return &skipWord }

// DeclareSkippable adds callbacks the SDK has no work for.
func DeclareSkippable(bits uint32) {
	st.skippable |= bits
	refreshSkip()
}

// ClearSkippable takes callbacks out of the skippable set for good (the
// plugin started to need them).
func ClearSkippable(bits uint32) {
	st.skippable &^= bits
	refreshSkip()
}

// Skippable returns the callbacks the host may skip now.
func Skippable() uint32 { return skipWord }

// refreshSkip recomputes the word after the declared set or the pending
// callouts changed.
func refreshSkip() {
	skipWord = st.skippable
	for _, p := range st.plugins {
		if len(p.httpCallbacks)+len(p.redisCallbacks)+len(p.grpcCallbacks) > 0 {
			skipWord = 0
			return
		}
	}
}
