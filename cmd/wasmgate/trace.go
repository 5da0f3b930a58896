package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wasmgate/wasmgate/config"
	"github.com/wasmgate/wasmgate/gateway"
	"github.com/wasmgate/wasmgate/gateway/trace"
)

type traceOptions struct {
	admin     string
	follow    bool
	verbose   bool
	jsonOut   bool
	filters   []string
	limit     int
	tokenFile string
	sample    string
}

func init() {
	var o traceOptions
	cmd := &cobra.Command{
		Use:   "trace [ID]",
		Short: "Show the traces of requests through a running gateway",
		Long: `trace prints the requests a running gateway traced (wasmgate run --watch traces
every request; elsewhere POST /trace?sample=… on the admin API, --trace-sample, or the
request header x-wasmgate-trace: 1 with the admin token in x-wasmgate-trace-token),
one line per request, oldest first. -v adds each request's timeline: every plugin
callback with its action and duration, header and body changes, callouts and what
they answered, pauses and what resumed them, local replies, logs and traps.

--follow keeps printing requests as they finish. --filter selects requests:
status=5xx, status=404, plugin=NAME, path=SUBSTRING, method=GET, errors=1
(repeatable or comma-separated). An ID prints that request's whole timeline.

The admin token comes from --admin-token-file or $WASMGATE_ADMIN_TOKEN.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return runTrace(ctx, cmd.OutOrStdout(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.admin, "admin", config.DefaultAdmin, "admin API address of the gateway")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing requests as they finish")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "print each request's timeline")
	f.BoolVar(&o.jsonOut, "json", false, "print the traces as JSON, one per line")
	f.StringArrayVar(&o.filters, "filter", nil, "select requests: status=5xx, plugin=NAME, path=SUBSTRING, method=M, errors=1")
	f.IntVar(&o.limit, "limit", 20, "how many recent requests to print (without --follow)")
	f.StringVar(&o.tokenFile, "admin-token-file", "", "file holding the admin API's bearer token")
	f.StringVar(&o.sample, "sample", "", "first set the gateway's sampling (0..1, a percentage, all or off)")
	rootCmd.AddCommand(cmd)
}

// traceClient talks to the admin API.
type traceClient struct {
	base  string
	token string
	http  *http.Client
}

func (c *traceClient) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API at %s: %w", c.base, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		return nil, fmt.Errorf("admin API %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

func (c *traceClient) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("admin API %s: %w", path, err)
	}
	return nil
}

// traceQuery turns --filter values into the admin API's query.
func traceQuery(filters []string) (url.Values, error) {
	q := url.Values{}
	for _, f := range filters {
		for _, kv := range strings.Split(f, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("--filter %q: want KEY=VALUE (status, plugin, path, method, errors)", kv)
			}
			switch k = strings.ToLower(strings.TrimSpace(k)); k {
			case "status", "plugin", "path", "method", "errors":
				q.Set(k, strings.TrimSpace(v))
			default:
				return nil, fmt.Errorf("--filter %q: unknown key %q (status, plugin, path, method, errors)", kv, k)
			}
		}
	}
	return q, nil
}

func runTrace(ctx context.Context, out io.Writer, o traceOptions, args []string) error {
	token := os.Getenv("WASMGATE_ADMIN_TOKEN")
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return fmt.Errorf("--admin-token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	base := o.admin
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	c := &traceClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{}}
	w := bufio.NewWriter(out)
	defer w.Flush()
	if o.sample != "" {
		resp, err := c.do(ctx, http.MethodPost, "/trace?sample="+url.QueryEscape(o.sample))
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	if len(args) == 1 {
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("trace id %q: not a number", args[0])
		}
		return printTrace(ctx, w, c, o, trace.Summary{ID: id}, true)
	}
	q, err := traceQuery(o.filters)
	if err != nil {
		return err
	}
	if o.follow {
		return followTraces(ctx, w, c, o, q)
	}
	if o.limit > 0 {
		q.Set("limit", strconv.Itoa(o.limit))
	}
	var list gateway.TraceList
	if err := c.getJSON(ctx, "/trace?"+q.Encode(), &list); err != nil {
		return err
	}
	if len(list.Requests) == 0 && list.Stats.Rate == 0 {
		fmt.Fprintln(os.Stderr, "no traced request; tracing is off on this gateway (wasmgate trace --sample all, or wasmgate run --watch)")
	}
	for i := len(list.Requests) - 1; i >= 0; i-- {
		if err := printTrace(ctx, w, c, o, list.Requests[i], o.verbose); err != nil {
			return err
		}
	}
	return nil
}

// printTrace prints a request's line, and with full its timeline.
func printTrace(ctx context.Context, w *bufio.Writer, c *traceClient, o traceOptions, s trace.Summary, full bool) error {
	defer w.Flush()
	if !full && !o.jsonOut {
		fmt.Fprintln(w, trace.Line(&s))
		return nil
	}
	var r trace.Request
	if err := c.getJSON(ctx, "/trace/"+strconv.FormatUint(s.ID, 10), &r); err != nil {
		return err
	}
	if o.jsonOut {
		b, _ := json.Marshal(&r)
		fmt.Fprintln(w, string(b))
		return nil
	}
	sum := r.Summary()
	fmt.Fprintln(w, trace.Line(&sum))
	fmt.Fprint(w, trace.Timeline(&r))
	return nil
}

// followTraces reads the admin API's event stream until ctx ends,
// reconnecting when the gateway restarts.
func followTraces(ctx context.Context, w *bufio.Writer, c *traceClient, o traceOptions, q url.Values) error {
	for {
		err := followOnce(ctx, w, c, o, q)
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(os.Stderr, "wasmgate trace: %v; reconnecting\n", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func followOnce(ctx context.Context, w *bufio.Writer, c *traceClient, o traceOptions, q url.Values) error {
	resp, err := c.do(ctx, http.MethodGet, "/trace/stream?"+q.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var s trace.Summary
		if err := json.Unmarshal([]byte(data), &s); err != nil {
			return fmt.Errorf("event stream: %w", err)
		}
		if err := printTrace(ctx, w, c, o, s, o.verbose); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("the gateway closed the event stream")
}
