package gateway

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/host"
)

// responseFlags are Envoy's response flags (%RESPONSE_FLAGS%), with Envoy's
// bit values, which the response.flags property reports.
type responseFlags uint32

const (
	flagUpstreamRequestTimeout          responseFlags = 0x4
	flagLocalReset                      responseFlags = 0x8
	flagUpstreamRemoteReset             responseFlags = 0x10
	flagUpstreamConnectionFailure       responseFlags = 0x20
	flagUpstreamConnectionTermination   responseFlags = 0x40
	flagNoRouteFound                    responseFlags = 0x100
	flagDownstreamConnectionTermination responseFlags = 0x4000
	flagStreamIdleTimeout               responseFlags = 0x10000
	flagDownstreamProtocolError         responseFlags = 0x40000
	flagDurationTimeout                 responseFlags = 0x400000
	flagUpstreamProtocolError           responseFlags = 0x800000
	flagNoClusterFound                  responseFlags = 0x1000000
)

var flagNames = []struct {
	f    responseFlags
	name string
}{
	{flagUpstreamRequestTimeout, "UT"},
	{flagLocalReset, "LR"},
	{flagUpstreamRemoteReset, "UR"},
	{flagUpstreamConnectionFailure, "UF"},
	{flagUpstreamConnectionTermination, "UC"},
	{flagNoRouteFound, "NR"},
	{flagDownstreamConnectionTermination, "DC"},
	{flagStreamIdleTimeout, "SI"},
	{flagDownstreamProtocolError, "DPE"},
	{flagDurationTimeout, "DT"},
	{flagUpstreamProtocolError, "UPE"},
	{flagNoClusterFound, "NC"},
}

// String renders the flags as Envoy's access log does: short names joined
// by commas, "-" for none.
func (f responseFlags) String() string {
	if f == 0 {
		return "-"
	}
	var b strings.Builder
	for _, n := range flagNames {
		if f&n.f != 0 {
			if b.Len() > 0 {
				b.WriteByte(',')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// accessRecord is what the access log says of one exchange: what the client
// sent and what it actually got.
type accessRecord struct {
	begin     time.Time
	method    string
	path      string
	authority string
	requestID string
	protocol  string

	// status is the status sent to the client (0 when the stream was reset
	// before response headers went out).
	status        int
	details       string
	flags         responseFlags
	reset         bool
	bytesReceived int64
	bytesSent     int64
	route         string
	cluster       string
}

func (r *accessRecord) start(rq *inbound, h *host.HeaderMap) {
	r.begin = time.Now()
	r.protocol = rq.protocol
	r.method = headerValue(h, ":method")
	r.path = headerValue(h, ":path")
	r.authority = headerValue(h, ":authority")
	r.requestID = headerValue(h, "x-request-id")
}

// writeAccessLog writes one line for the exchange and counts it.
func (gw *Server) writeAccessLog(x *exchange) {
	r := &x.rec
	if x.route != nil {
		r.route = x.route.cfg.Name
	}
	if x.cluster != nil {
		r.cluster = x.cluster.cfg.Name
	}
	status := r.status
	if r.reset && !x.respStarted {
		status = 0
	}
	d := time.Since(r.begin)
	gw.metrics.request(status, d)
	if !gw.accessLogger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.String("authority", r.authority),
		slog.String("protocol", r.protocol),
		slog.Int("status", status),
		slog.String("details", r.details),
		slog.String("flags", r.flags.String()),
		slog.Bool("reset", r.reset),
		slog.String("route", r.route),
		slog.String("cluster", r.cluster),
		slog.Int64("bytes_received", r.bytesReceived),
		slog.Int64("bytes_sent", r.bytesSent),
		slog.Duration("duration", d),
		slog.String("request_id", r.requestID),
	}
	attrs = append(attrs, gw.filterStateAttrs(x.routing.fs)...)
	gw.accessLogger.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}
