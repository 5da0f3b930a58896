package host

import (
	"testing"
)

func TestHigressStreamExtensions(t *testing.T) {
	e := testEngine(t)
	p, rec := scripted(t, e, false, `{"request_headers":[{"op":"override_host","val":"10.0.0.7:8080"},{"op":"upstream_hosts"}],
	"response_headers":[{"op":"inject","data":"event: ping\n\n","eos":false},
		{"op":"foreign","name":"inject_encoded_data_to_filter_chain_on_header","hex":"0a0378797a1001"},
		{"op":"foreign","name":"inject_encoded_data_to_filter_chain_on_header","hex":"ff"}],
	"configure":[{"op":"override_host","val":"x"},{"op":"upstream_hosts"}]}`)
	rec.mustHave(t, "override_host st=1", "upstream_hosts st=1")
	ev := newEvents()
	s := p.NewStream(StreamOptions{Events: ev.fn, UpstreamHosts: func() []HeaderField {
		return []HeaderField{{"10.0.0.7:8080", "metrics"}, {"10.0.0.8:8080", ""}}
	}})
	s.RequestHeaders(reqHeaders(), true)
	if got := s.UpstreamOverrideHost(); got != "10.0.0.7:8080" {
		t.Fatal(got)
	}
	rec.mustHave(t, "override_host st=0", "upstream_hosts st=0 10.0.0.7:8080=metrics;10.0.0.8:8080=")
	if r := s.ResponseHeaders(NewHeaderMap(":status", "200"), false); r.Action != ActionContinue {
		t.Fatalf("%+v", r)
	}
	a, b := ev.wait(t), ev.wait(t)
	if a.Kind != EventInject || string(a.Data) != "event: ping\n\n" || a.EndStream || a.Dir != Response {
		t.Fatalf("%+v", a)
	}
	if b.Kind != EventInject || string(b.Data) != "xyz" || !b.EndStream {
		t.Fatalf("%+v", b)
	}
	rec.mustHave(t, "inject st=0", "inject_encoded_data_to_filter_chain_on_header st=2")
	s.Done()
}
