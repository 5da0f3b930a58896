package matcher

import (
	"github.com/wasmgate/wasmgate/sdk/proxywasm"
	"github.com/wasmgate/wasmgate/sdk/proxywasm/types"
)

// GetMatchConfig returns the configuration for the current request (see
// Match). It must be called while request headers are available. It reads
// the ":authority" request header (an error is returned as is) and the
// "route_name" and "cluster_name" properties (NotFound counts as empty; other
// errors are returned). The ConsumerHeaderKey header is read only if a
// RoutePrefixAndConsumer rule needs it.
func (m RuleMatcher[C]) GetMatchConfig() (*C, error) {
	host, err := proxywasm.GetHttpRequestHeader(":authority")
	if err != nil {
		return nil, err
	}
	routeName, err := proxywasm.GetProperty([]string{"route_name"})
	if err != nil && err != types.ErrorStatusNotFound {
		return nil, err
	}
	clusterName, err := proxywasm.GetProperty([]string{"cluster_name"})
	if err != nil && err != types.ErrorStatusNotFound {
		return nil, err
	}
	return m.match(request{host: host, route: string(routeName), cluster: string(clusterName),
		readConsumer: requestConsumer}), nil
}

// requestConsumer returns the consumer header of the current request, or ""
// if it is absent.
func requestConsumer() string {
	consumer, _ := proxywasm.GetHttpRequestHeader(ConsumerHeaderKey)
	return consumer
}
