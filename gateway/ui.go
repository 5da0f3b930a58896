package gateway

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wasmgate/wasmgate/gateway/trace"
)

// The web view of the admin API: server-rendered pages, one small script
// for live updates, nothing fetched from elsewhere.
//
//go:embed ui
var uiFiles embed.FS

var uiTemplates = template.Must(template.New("ui").Funcs(template.FuncMap{
	"us":          trace.FormatUS,
	"kib":         func(n any) string { return formatBytes(toInt64(n)) },
	"clock":       func(t time.Time) string { return t.Format("15:04:05.000") },
	"join":        func(s []string) string { return strings.Join(s, ", ") },
	"statusClass": func(s int) string { return "s" + strconv.Itoa(s/100) },
	"sign": func(op string) string {
		switch op {
		case "added":
			return "+"
		case "removed":
			return "−"
		}
		return "~"
	},
}).ParseFS(uiFiles, "ui/*.html"))

func (gw *Server) uiRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(uiFiles, "ui")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ui", gw.uiRequests)
	mux.HandleFunc("GET /ui/{$}", gw.uiRequests)
	mux.HandleFunc("GET /ui/request/{id}", gw.uiRequest)
	mux.HandleFunc("GET /ui/plugins", gw.uiPlugins)
	mux.HandleFunc("GET /ui/config", gw.uiConfig)
}

type uiPage struct {
	Title, Page, Rate string
}

func (gw *Server) page(title, name string) uiPage {
	r := gw.traces.SampleRate()
	rate := strconv.FormatFloat(r*100, 'f', -1, 64) + "%"
	switch r {
	case 0:
		rate = "off"
	case 1:
		rate = "all"
	}
	return uiPage{Title: title, Page: name, Rate: rate}
}

func (gw *Server) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := uiTemplates.ExecuteTemplate(&b, name, data); err != nil {
		gw.log.Error("admin ui", "page", name, "error", err)
		http.Error(w, "page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
	_, _ = w.Write(b.Bytes())
}

func (gw *Server) uiRequests(w http.ResponseWriter, r *http.Request) {
	f, limit := traceFilter(r)
	if limit <= 0 {
		limit = 200
	}
	q := url.Values{}
	for k, v := range map[string]string{"status": f.Status, "plugin": f.Plugin, "path": f.Path, "method": f.Method} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Errors {
		q.Set("errors", "1")
	}
	gw.render(w, "requests.html", struct {
		uiPage
		Filter   trace.Filter
		Query    string
		Stats    trace.Stats
		Requests []trace.Summary
	}{gw.page("Requests", "requests"), f, q.Encode(), gw.traces.Stats(), gw.traces.List(f, limit)})
}

// uiRow is one line of a request's waterfall.
type uiRow struct {
	Who, What, Class, Title, Dur string
	Left, Width                  float64
}

// uiChange is a callback that changed headers or a body.
type uiChange struct {
	Who, What, At string
	Headers       []trace.HeaderChange
	Body          *trace.BodyChange
}

func (gw *Server) uiRequest(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseUint(r.PathValue("id"), 10, 64)
	tr := gw.traces.Get(id)
	if tr == nil {
		http.Error(w, fmt.Sprintf("no trace %s (it may have left the ring)", r.PathValue("id")), http.StatusNotFound)
		return
	}
	total := float64(tr.DurationUS)
	if total <= 0 {
		total = 1
	}
	var rows []uiRow
	var changes []uiChange
	for _, e := range tr.Events {
		row := uiRow{Who: e.Plugin, Class: e.Kind, What: trace.Describe(&e), Dur: trace.FormatUS(e.DurUS)}
		if e.Plugin == "" {
			row.Who = "gateway"
		}
		if e.Error != "" {
			row.Class += " error"
		}
		row.Left = min(100, float64(e.AtUS)/total*100)
		row.Width = min(100-row.Left, float64(e.DurUS)/total*100)
		row.Title = fmt.Sprintf("%s: %s (at %s, %s)", row.Who, row.What, trace.FormatUS(e.AtUS), row.Dur)
		rows = append(rows, row)
		if len(e.Headers) > 0 || (e.Body != nil && (e.Body.Changed || e.Body.Buffered > 0)) {
			changes = append(changes, uiChange{Who: row.Who, What: e.Name, At: trace.FormatUS(e.AtUS), Headers: e.Headers, Body: e.Body})
		}
	}
	gw.render(w, "request.html", struct {
		uiPage
		Trace   *trace.Request
		Rows    []uiRow
		Changes []uiChange
	}{gw.page(tr.Method+" "+tr.Path, "request"), tr, rows, changes})
}

func (gw *Server) uiPlugins(w http.ResponseWriter, r *http.Request) {
	gw.render(w, "plugins.html", struct {
		uiPage
		Plugins []PluginStatus
	}{gw.page("Plugins", "plugins"), gw.Plugins()})
}

func (gw *Server) uiConfig(w http.ResponseWriter, r *http.Request) {
	text := "no configuration applied yet"
	if out, ok := gw.configDump(false); ok {
		b, _ := json.MarshalIndent(out, "", "  ")
		text = string(b)
	}
	gw.render(w, "config.html", struct {
		uiPage
		Config string
	}{gw.page("Configuration", "config"), text})
}

func formatBytes(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	return 0
}
