// Command reverseproxy is the baseline of the load tests: a plain
// net/http/httputil.ReverseProxy with a pooled transport.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18001", "listen address")
	upstream := flag.String("upstream", "http://127.0.0.1:18000", "upstream URL")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}
	log.Fatal(http.ListenAndServe(*addr, p))
}
