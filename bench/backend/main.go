// Command backend is the upstream of the load tests: it answers every request
// with a fixed 12-byte body.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18000", "listen address")
	flag.Parse()
	body := []byte("hello world\n")
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})))
}
