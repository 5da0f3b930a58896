package gateway

import (
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/host"
)

// isGRPC reports whether request headers are a gRPC request's: a
// content-type of application/grpc or application/grpc+FORMAT, as Envoy's
// Grpc::Common::isGrpcRequestHeaders decides.
func isGRPC(h *host.HeaderMap) bool {
	ct, _ := h.Get("content-type")
	return ct == "application/grpc" || strings.HasPrefix(ct, "application/grpc+") || strings.HasPrefix(ct, "application/grpc;")
}

// grpcReply turns a local reply to a gRPC request into a trailers-only gRPC
// response, as Envoy's sendLocalReply does: :status 200, content-type
// application/grpc, grpc-status (the plugin's, else mapped from the HTTP
// status) and the body as grpc-message; no body.
func grpcReply(r *host.LocalReply) *host.LocalReply {
	code := r.GRPCStatus
	status, _ := r.Headers.Get(":status")
	if code < 0 {
		n, _ := strconv.Atoi(status)
		code = httpToGRPCStatus(n)
	}
	h := host.NewHeaderMap(":status", "200")
	for _, f := range r.Headers.Fields {
		switch f.Key {
		case ":status", "content-type", "content-length", "grpc-status", "grpc-message":
			continue
		}
		h.Add(f.Key, f.Value)
	}
	h.Add("content-type", "application/grpc")
	h.Add("grpc-status", strconv.Itoa(code))
	if len(r.Body) > 0 {
		h.Add("grpc-message", grpcMessageEncode(string(r.Body)))
	}
	out := *r
	out.Headers, out.Body = h, nil
	return &out
}

// httpToGRPCStatus maps an HTTP status to a gRPC status as Envoy's
// Grpc::Utility::httpToGrpcStatus does (gRPC's http-grpc-status-mapping).
func httpToGRPCStatus(status int) int {
	switch status {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// grpcMessageEncode percent-encodes a grpc-message value as the gRPC
// protocol specifies: bytes outside printable ASCII, and '%'.
func grpcMessageEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
