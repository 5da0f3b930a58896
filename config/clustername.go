package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The cluster names below are the ones Higress (through Istio) gives its upstream clusters; the
// Higress SDK's DnsCluster, StaticIpCluster, K8sCluster and FQDNCluster build the same strings,
// so a plugin's DispatchHttpCall or Redis client finds them.

// OutboundClusterName returns "outbound|PORT|SUBSET|FQDN".
func OutboundClusterName(port int, subset, fqdn string) string {
	return "outbound|" + strconv.Itoa(port) + "|" + subset + "|" + fqdn
}

// DNSClusterName is the cluster of a McpBridge `dns` registry: "outbound|PORT||NAME.dns".
func DNSClusterName(name string, port int) string {
	return OutboundClusterName(port, "", name+".dns")
}

// StaticClusterName is the cluster of a McpBridge `static` registry:
// "outbound|PORT||NAME.static" (PORT is 80 unless the registry sets one).
func StaticClusterName(name string, port int) string {
	return OutboundClusterName(port, "", name+".static")
}

// K8sServiceFQDN is "SERVICE.NAMESPACE.svc.cluster.local".
func K8sServiceFQDN(service, namespace string) string {
	return service + "." + namespace + ".svc.cluster.local"
}

// K8sClusterName is the cluster of a Kubernetes service port:
// "outbound|PORT||SERVICE.NAMESPACE.svc.cluster.local".
func K8sClusterName(service, namespace string, port int) string {
	return OutboundClusterName(port, "", K8sServiceFQDN(service, namespace))
}

// OutboundName is a parsed "outbound|PORT|SUBSET|FQDN" cluster name.
type OutboundName struct {
	Port   int
	Subset string
	FQDN   string
}

// ParseOutboundClusterName splits a cluster name of the form "outbound|PORT|SUBSET|FQDN", the
// form the Higress SDK's service matcher expects.
func ParseOutboundClusterName(name string) (OutboundName, error) {
	parts := strings.Split(name, "|")
	if len(parts) != 4 || parts[0] != "outbound" {
		return OutboundName{}, fmt.Errorf("cluster name %q is not of the form outbound|PORT|SUBSET|FQDN", name)
	}
	port, err := strconv.Atoi(parts[1])
	if err != nil || port < 1 || port > 65535 {
		return OutboundName{}, fmt.Errorf("cluster name %q has an invalid port %q", name, parts[1])
	}
	if parts[3] == "" {
		return OutboundName{}, fmt.Errorf("cluster name %q has an empty host", name)
	}
	return OutboundName{Port: port, Subset: parts[2], FQDN: parts[3]}, nil
}
