package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WebSocket upgrades and CONNECT requests become tunnels, as Envoy's
// upgrade_configs make them: the request and the upstream's response
// headers pass through the plugin chain like any other; once the response
// (101 to an upgrade, 2xx to CONNECT) has gone to the client, the bytes of
// both directions are copied between the client's connection and a
// connection to the upstream opened for this request, until either side
// closes or the stream idle timeout passes without a byte moving.

// tunnelConn is the upstream connection of a tunnel and what its reader
// already holds.
type tunnelConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func (t *tunnelConn) close() { _ = t.conn.Close() }

// upgradeType is the upgrade a request asks for: "connect" for CONNECT,
// the lower-case Upgrade token when Connection names "upgrade", else "".
func upgradeType(method, connection, upgrade string) string {
	if method == http.MethodConnect {
		return "connect"
	}
	if upgrade == "" {
		return ""
	}
	for _, tok := range strings.Split(connection, ",") {
		if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
			return strings.ToLower(strings.TrimSpace(upgrade))
		}
	}
	return ""
}

// tunnel sends an upgrade or CONNECT request on a connection of its own.
// A 101 (or a 2xx to CONNECT) is reported with the connection, which the
// exchange then owns; any other response is streamed as usual.
func (u *upstream) tunnel(req *http.Request, msgs chan<- upstreamMsg, done <-chan struct{}) {
	send := sender(msgs, done)
	ctx := req.Context()
	conn, err := u.dial(ctx)
	if err != nil {
		send(upstreamMsg{err: err})
		return
	}
	if u.cfg.TLS != nil {
		tc := u.transport.TLSClientConfig.Clone()
		tc.NextProtos = []string{"http/1.1"} // an upgrade needs HTTP/1.1
		if tc.ServerName == "" {
			tc.ServerName = req.Host
			if h, _, err := net.SplitHostPort(req.Host); err == nil {
				tc.ServerName = h
			}
		}
		tlsConn := tls.Client(conn, tc)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			conn.Close()
			send(upstreamMsg{err: err})
			return
		}
		conn = tlsConn
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	if req.Method == http.MethodConnect {
		req.URL.Opaque, req.URL.Path, req.URL.RawQuery = "", "", ""
	}
	br := bufio.NewReader(conn)
	if err = req.Write(conn); err == nil {
		var resp *http.Response
		resp, err = http.ReadResponse(br, req)
		if err == nil {
			opened := resp.StatusCode == http.StatusSwitchingProtocols ||
				(req.Method == http.MethodConnect && resp.StatusCode/100 == 2)
			if opened && stop() {
				h := responseHeaderMap(resp)
				if resp.StatusCode == http.StatusSwitchingProtocols {
					h.Add("connection", "Upgrade")
					h.Add("upgrade", resp.Header.Get("Upgrade"))
				}
				m := upstreamMsg{headers: h, tunnel: &tunnelConn{conn: conn, br: br}}
				if tc, ok := conn.(*tls.Conn); ok {
					cs := tc.ConnectionState()
					m.tls = &cs
				}
				if !send(m) {
					conn.Close()
				}
				return
			}
			streamResponse(resp, send, false)
			resp.Body.Close()
			stop()
			conn.Close()
			return
		}
	}
	stop()
	conn.Close()
	send(upstreamMsg{err: err})
}

// splice copies bytes both ways between the client (its reader and
// writer) and the upstream until either side ends or idle passes with no
// byte moving in one direction. It returns the bytes sent to the client
// and received from it.
func splice(client net.Conn, clientR io.Reader, up *tunnelConn, idle time.Duration) (sent, received int64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		received = copyIdle(up.conn, clientR, client, idle)
		closeWrite(up.conn)
	}()
	sent = copyIdle(client, up.br, up.conn, idle)
	closeWrite(client)
	wg.Wait()
	up.close()
	return sent, received
}

// copyIdle copies src to dst, each read bounded by idle (none when 0).
func copyIdle(dst io.Writer, src io.Reader, srcConn net.Conn, idle time.Duration) int64 {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		if idle > 0 {
			_ = srcConn.SetReadDeadline(time.Now().Add(idle))
		}
		r, err := src.Read(buf)
		if r > 0 {
			w, werr := dst.Write(buf[:r])
			n += int64(w)
			if werr != nil {
				return n
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Idle too long: end both directions.
				if c, ok := dst.(net.Conn); ok {
					_ = c.Close()
				}
				_ = srcConn.Close()
			}
			return n
		}
	}
}

// closeWrite half-closes a connection's sending side where it can, so the
// peer sees the end of the stream, and reports whether it did; otherwise it
// closes the connection.
func closeWrite(c net.Conn) bool {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := c.(closeWriter); ok {
		return cw.CloseWrite() == nil
	}
	_ = c.Close()
	return false
}

// keepsTunnelHeaders reports the connection-level headers a 101 response
// carries to the client.
func keepsTunnelHeaders(status int, key string) bool {
	return status == http.StatusSwitchingProtocols && (key == "connection" || key == "upgrade")
}
