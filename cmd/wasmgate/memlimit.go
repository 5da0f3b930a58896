package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryShare is the share of the machine's memory (or of the
// cgroup's limit) the process-wide soft memory limit defaults to.
const defaultMemoryShare = 0.75

// parseBytes reads a byte size: a number with an optional unit (B, KB,
// MB, GB, KiB, MiB, GiB, case-insensitive).
func parseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   uint64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"b", 1}}
	mult := uint64(1)
	lower := strings.ToLower(t)
	for _, u := range units {
		if strings.HasSuffix(lower, u.suffix) {
			mult = u.mult
			t = strings.TrimSpace(t[:len(t)-len(u.suffix)])
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a byte size (such as 512MiB or 2GB)", s)
	}
	return uint64(f * float64(mult)), nil
}

// machineMemory returns the memory available to the process: the cgroup
// v2 limit when there is one, else MemTotal (0 when neither is readable).
func machineMemory() uint64 {
	var total uint64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) >= 2 && fields[0] == "MemTotal:" {
				if kb, err := strconv.ParseUint(fields[1], 10, 64); err == nil {
					total = kb << 10
				}
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && (total == 0 || v < total) {
			total = v
		}
	}
	return total
}

// applyMemoryLimit sets the Go runtime's soft memory limit (GOMEMLIMIT):
// flag "" means the GOMEMLIMIT variable when set, else a share of the
// machine's memory; "off" leaves the runtime without a limit. It returns
// the limit in force (0: none).
func applyMemoryLimit(flag string) (uint64, error) {
	switch flag {
	case "off":
		debug.SetMemoryLimit(math.MaxInt64)
		return 0, nil
	case "":
		if os.Getenv("GOMEMLIMIT") != "" {
			return uint64(debug.SetMemoryLimit(-1)), nil
		}
		m := machineMemory()
		if m == 0 {
			return 0, nil
		}
		n := uint64(float64(m) * defaultMemoryShare)
		debug.SetMemoryLimit(int64(n))
		return n, nil
	}
	n, err := parseBytes(flag)
	if err != nil {
		return 0, fmt.Errorf("--memory-limit: %w", err)
	}
	debug.SetMemoryLimit(int64(n))
	return n, nil
}
