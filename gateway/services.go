package gateway

import (
	"slices"
	"strings"
	"sync"
)

// unknownClusters remembers which unknown cluster names were logged, per
// configuration version, so a plugin calling one on every request logs it once.
var unknownClusters sync.Map // name → version

// logUnknownCluster explains a plugin call to a cluster the configuration does
// not define: the plugin gets BadArgument, as from Envoy, and the log says
// which name was asked for and how to declare the service.
func (gw *Server) logUnknownCluster(snap *snapshot, name string) {
	if v, ok := unknownClusters.Load(name); ok && v.(int) == snap.version {
		return
	}
	unknownClusters.Store(name, snap.version)
	known := make([]string, 0, len(snap.clusters))
	for n := range snap.clusters {
		known = append(known, n)
	}
	slices.Sort(known)
	if len(known) > 10 {
		known = append(known[:10], "…")
	}
	gw.log.Warn("plugin call to an unknown cluster: the plugin gets BadArgument (as from Envoy)",
		"cluster", name, "known", strings.Join(known, ", "),
		"declare", "a McpBridge static or dns registry, an Endpoints resource (data directory services/), or a cluster of the Envoy bootstrap with exactly this name")
}
