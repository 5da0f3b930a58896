package wrapper

import (
	"strconv"
	"strings"

	"github.com/wasmgate/wasmgate/sdk/proxywasm"
)

// Cluster names an upstream cluster of the gateway and the host to send it.
// ClusterName returns the exact cluster name the gateway registers (Envoy's
// "outbound|port|subset|fqdn"), so the same plugin reaches the same service in
// Higress and in wasmgate.
type Cluster interface {
	ClusterName() string
	HostName() string
}

// RouteCluster is the cluster of the current request's route.
type RouteCluster struct {
	Host string
}

func (c RouteCluster) ClusterName() string {
	b, err := proxywasm.GetProperty([]string{"cluster_name"})
	if err != nil {
		proxywasm.LogErrorf("get route cluster failed: %v", err)
		return ""
	}
	return string(b)
}

func (c RouteCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	return GetRequestHost()
}

// TargetCluster is a cluster given by its exact name.
type TargetCluster struct {
	Host    string
	Cluster string
}

func (c TargetCluster) ClusterName() string { return c.Cluster }
func (c TargetCluster) HostName() string    { return c.Host }

// K8sCluster is a Kubernetes service: outbound|Port|Version|Name.Namespace.svc.cluster.local.
type K8sCluster struct {
	ServiceName string
	Namespace   string
	Port        int64
	Version     string
	Host        string
}

func (c K8sCluster) namespace() string {
	if c.Namespace == "" {
		return "default"
	}
	return c.Namespace
}

func (c K8sCluster) ClusterName() string {
	return outbound(c.Port, c.Version, c.ServiceName+"."+c.namespace()+".svc.cluster.local")
}

func (c K8sCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	// As Higress: the namespace as given, so an empty one gives
	// "name..svc.cluster.local" (ClusterName uses "default").
	return c.ServiceName + "." + c.Namespace + ".svc.cluster.local"
}

// NacosCluster is a service registered in Nacos:
// outbound|Port|Version|Name.Group.NamespaceID.nacos (".nacos-ext" for an external registry).
type NacosCluster struct {
	ServiceName   string
	Group         string
	NamespaceID   string
	Port          int64
	IsExtRegistry bool
	Version       string
	Host          string
}

func (c NacosCluster) ClusterName() string {
	group := c.Group
	if group == "" {
		group = "DEFAULT-GROUP"
	}
	suffix := "nacos"
	if c.IsExtRegistry {
		suffix = "nacos-ext"
	}
	return outbound(c.Port, c.Version, c.ServiceName+"."+strings.ReplaceAll(group, "_", "-")+"."+c.NamespaceID+"."+suffix)
}

func (c NacosCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	return c.ServiceName
}

// StaticIpCluster is a fixed-address service: outbound|Port||Name.static. In
// Higress the logical port of a static service is 80.
type StaticIpCluster struct {
	ServiceName string
	Port        int64
	Host        string
}

func (c StaticIpCluster) ClusterName() string { return outbound(c.Port, "", c.ServiceName+".static") }

func (c StaticIpCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	return c.ServiceName
}

// DnsCluster is a DNS-resolved service: outbound|Port||Name.dns.
type DnsCluster struct {
	ServiceName string
	Domain      string
	Port        int64
}

func (c DnsCluster) ClusterName() string { return outbound(c.Port, "", c.ServiceName+".dns") }
func (c DnsCluster) HostName() string    { return c.Domain }

// ConsulCluster is a service registered in Consul: outbound|Port||Name.Datacenter.consul.
type ConsulCluster struct {
	ServiceName string
	Datacenter  string
	Port        int64
	Host        string
}

func (c ConsulCluster) ClusterName() string {
	return outbound(c.Port, "", c.ServiceName+"."+c.Datacenter+".consul")
}

func (c ConsulCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	return c.ServiceName
}

// FQDNCluster is a service by its full name including the registry type
// ("my-svc.dns", "redis.static", "svc.ns.svc.cluster.local"): outbound|Port||FQDN.
type FQDNCluster struct {
	FQDN string
	Host string
	Port int64
}

func (c FQDNCluster) ClusterName() string { return outbound(c.Port, "", c.FQDN) }

func (c FQDNCluster) HostName() string {
	if c.Host != "" {
		return c.Host
	}
	return c.FQDN
}

func outbound(port int64, subset, fqdn string) string {
	return "outbound|" + strconv.FormatInt(port, 10) + "|" + subset + "|" + fqdn
}
