package gateway

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// adminGuard admits admin requests: a Host header naming this API (so a web
// page cannot reach it through DNS rebinding), no cross-origin POST from a
// browser, and the bearer token when one is set.
type adminGuard struct {
	hosts        map[string]bool // accepted Host names and IPs besides loopback ones
	token        []byte
	loopbackOnly bool
	cop          *http.CrossOriginProtection
}

// newAdminGuard accepts loopback names, the host of addr as written, the
// address bound (every address of this machine when bound to all), and extra.
func newAdminGuard(addr string, bound net.Addr, extra []string, token string) *adminGuard {
	g := &adminGuard{hosts: map[string]bool{}, cop: http.NewCrossOriginProtection()}
	if token != "" {
		g.token = []byte(token)
	}
	add := func(h string) {
		if h = normalizeHost(h); h != "" {
			g.hosts[h] = true
		}
	}
	if h, _, err := net.SplitHostPort(addr); err == nil {
		add(h)
	}
	for _, h := range extra {
		add(h)
	}
	ip := net.IPv4zero
	if tcp, ok := bound.(*net.TCPAddr); ok {
		ip = tcp.IP
	}
	switch {
	case ip.IsLoopback():
		g.loopbackOnly = true
	case ip.IsUnspecified():
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					add(n.IP.String())
				}
			}
		}
		if name, err := os.Hostname(); err == nil {
			add(name)
		}
	default:
		add(ip.String())
	}
	return g
}

// normalizeHost lowercases a host name or IP literal (brackets and a
// trailing dot removed, IPs in canonical form).
func normalizeHost(h string) string {
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}

// allowedHost reports whether a Host header names this API.
func (g *adminGuard) allowedHost(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = normalizeHost(h)
	switch {
	case h == "":
		return false
	case h == "localhost" || strings.HasSuffix(h, ".localhost"):
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	return g.hosts[h]
}

func (g *adminGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.allowedHost(r.Host) {
			http.Error(w, fmt.Sprintf("Host %q is not this admin API: it answers loopback names and the address it listens on only (wasmgate run --admin-host adds names)", r.Host), http.StatusForbidden)
			return
		}
		if err := g.cop.Check(r); err != nil {
			http.Error(w, "cross-origin request refused: "+err.Error(), http.StatusForbidden)
			return
		}
		if g.token != nil && !(r.URL.Path == "/ready" && (r.Method == http.MethodGet || r.Method == http.MethodHead)) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), g.token) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wasmgate admin"`)
				http.Error(w, "this admin API requires its bearer token (Authorization: Bearer …)", http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
