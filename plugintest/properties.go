package plugintest

import (
	"github.com/wasmgate/wasmgate/host"
	"github.com/wasmgate/wasmgate/internal/attributes"
)

// Addresses of the simulated connection.
const (
	defaultSource      = "127.0.0.1:40000"
	defaultDestination = "127.0.0.1:8080"
)

// requestProps answers the properties of one simulated request: the
// test's own per-request properties first, then Envoy's attributes as the
// gateway answers them.
type requestProps struct {
	attributes.Request
	extra host.PropertyMap
}

// Property implements host.Properties.
func (p *requestProps) Property(path []string) (any, bool) {
	if p.extra != nil {
		if v, ok := p.extra.Property(path); ok {
			return v, true
		}
	}
	return p.Request.Property(path)
}
