package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/gateway/trace"
)

// traceRoutes adds the trace endpoints of the admin API:
//
//	GET  /trace               recent traced requests, newest first (?status=5xx&path=&plugin=&method=&errors=1&limit=)
//	GET  /trace/{id}          one request's whole trace
//	POST /trace?sample=R      trace a share R of the requests (0..1, "all" or "off")
//	GET  /trace/stream        server-sent events: one "request" event per traced request as it finishes
//
// done closes when the admin server shuts down (ends the event streams).
func (gw *Server) traceRoutes(mux *http.ServeMux, done <-chan struct{}) {
	mux.HandleFunc("GET /trace", gw.adminTraceList)
	mux.HandleFunc("POST /trace", gw.adminTraceSample)
	mux.HandleFunc("GET /trace/stream", func(w http.ResponseWriter, r *http.Request) { gw.adminTraceStream(w, r, done) })
	mux.HandleFunc("GET /trace/{id}", gw.adminTraceGet)
}

// TraceList is the answer of GET /trace.
type TraceList struct {
	Stats    trace.Stats     `json:"stats"`
	Requests []trace.Summary `json:"requests"`
}

func traceFilter(r *http.Request) (trace.Filter, int) {
	q := r.URL.Query()
	f := trace.Filter{Status: q.Get("status"), Path: q.Get("path"), Method: q.Get("method"), Plugin: q.Get("plugin")}
	f.Errors = q.Get("errors") == "1" || q.Get("errors") == "true"
	limit, _ := strconv.Atoi(q.Get("limit"))
	return f, limit
}

func (gw *Server) adminTraceList(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("sample") {
		// changing the sampling is a state change: POST only, as /logging
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "sample= changes the gateway: POST /trace?sample=… (GET lists traces)", http.StatusMethodNotAllowed)
		return
	}
	f, limit := traceFilter(r)
	writeJSON(w, TraceList{Stats: gw.traces.Stats(), Requests: gw.traces.List(f, limit)})
}

func (gw *Server) adminTraceGet(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "trace id must be a number", http.StatusBadRequest)
		return
	}
	tr := gw.traces.Get(id)
	if tr == nil {
		http.Error(w, fmt.Sprintf("no trace %d (it may have left the ring)", id), http.StatusNotFound)
		return
	}
	writeJSON(w, tr)
}

// ParseSampleRate reads a sampling rate (?sample=, --trace-sample): a share 0..1, a percentage ("10%"),
// "all"/"on" or "off".
func ParseSampleRate(v string) (float64, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "all", "on":
		return 1, nil
	case "off", "none":
		return 0, nil
	case "":
		return 0, fmt.Errorf("sample: missing value (0..1, a percentage, all or off)")
	}
	scale := 1.0
	if p, ok := strings.CutSuffix(v, "%"); ok {
		v, scale = p, 100
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f/scale > 1 {
		return 0, fmt.Errorf("sample: %q is not a share between 0 and 1, a percentage, all or off", v)
	}
	return f / scale, nil
}

func (gw *Server) adminTraceSample(w http.ResponseWriter, r *http.Request) {
	rate, err := ParseSampleRate(r.FormValue("sample"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gw.traces.SetSampleRate(rate)
	gw.log.Info("trace sampling changed", "sample_rate", rate)
	writeJSON(w, gw.traces.Stats())
}

// adminTraceStream sends each traced request's summary as it finishes,
// as server-sent events, with a comment every 15 s to keep proxies from
// closing the stream.
func (gw *Server) adminTraceStream(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	f, _ := traceFilter(r)
	ch, stop := gw.traces.Subscribe()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": wasmgate traces\n\n")
	fl.Flush()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-keep.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case s := <-ch:
			if !f.Matches(&s) {
				continue
			}
			b, _ := json.Marshal(s)
			fmt.Fprintf(w, "event: request\nid: %d\ndata: %s\n\n", s.ID, b)
		}
		fl.Flush()
	}
}
