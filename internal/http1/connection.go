package http1

// DetailsConnectionRejected is Envoy's response code detail for a
// Connection header it refuses to sanitize.
const DetailsConnectionRejected = "http1.connection_header_rejected"

// Limits of Envoy's Connection header sanitization (Utility::
// sanitizeConnectionHeader).
const (
	maxConnectionTokens = 10
	maxTEValue          = 256
)

// connectionOption reports whether a Connection token names a connection
// option rather than a header: close, keep-alive, upgrade, HTTP2-Settings.
func connectionOption(tok string) bool {
	return equalFold(tok, "close") || equalFold(tok, "keep-alive") || equalFold(tok, "upgrade") || equalFold(tok, "http2-settings")
}

// sanitizeConnection removes the headers a request's Connection header
// nominates (RFC 9110 §7.6.1), as Envoy's HTTP/1 codec does for every
// request that is not an upgrade: at most nine tokens; nominating
// X-Forwarded-For, -Host or -Proto or a pseudo-header is refused; a
// nominated TE is kept as "trailers" when it lists trailers (and refused
// when 256 bytes or longer), otherwise removed; a self-nominated
// Connection stays.
func (req *Request) sanitizeConnection() error {
	var tokens []string
	for _, f := range req.Fields {
		if f.Name == "connection" {
			tokens = append(tokens, splitList(f.Value)...)
		}
	}
	if len(tokens) >= maxConnectionTokens {
		return badRequest(DetailsConnectionRejected, "%d tokens in the connection header", len(tokens))
	}
	remove := map[string]bool{}
	for _, tok := range tokens {
		name := lowerName([]byte(tok))
		switch {
		case connectionOption(tok), name == "connection":
		case name == "x-forwarded-for" || name == "x-forwarded-host" || name == "x-forwarded-proto" || name[0] == ':':
			return badRequest(DetailsConnectionRejected, "the connection header nominates %s", name)
		case name == "te":
			keep := false
			for i := range req.Fields {
				f := &req.Fields[i]
				if f.Name != "te" {
					continue
				}
				if len(f.Value) >= maxTEValue {
					return badRequest(DetailsConnectionRejected, "a nominated te header of %d bytes", len(f.Value))
				}
				for _, v := range splitList(f.Value) {
					if equalFold(v, "trailers") {
						keep = true
					}
				}
				if keep {
					f.Value = "trailers"
				}
			}
			if !keep {
				remove[name] = true
			}
		default:
			remove[name] = true
		}
	}
	if len(remove) == 0 {
		return nil
	}
	kept := req.Fields[:0]
	for _, f := range req.Fields {
		if !remove[f.Name] {
			kept = append(kept, f)
		}
	}
	req.Fields = kept
	return nil
}
