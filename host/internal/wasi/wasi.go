// Package wasi provides the WASI host modules (wasi_snapshot_preview1 and
// wasi_unstable) with the behaviour proxy-wasm plugins observe in Envoy:
// fd_write on fd 1 and 2 goes to the plugin log, poll_oneoff never sleeps,
// proc_exit traps, there is no filesystem, the environment comes only
// from the VM configuration, clocks are real (or the embedder's), and
// random_get is limited to 64 KiB per call.
//
// Every function is an api.GoModuleFunc; the per-VM state comes from the
// call's context through a Lookup function supplied by the engine.
package wasi

import (
	"context"
	"crypto/rand"
	"encoding/binary"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Module names under which the functions are registered.
const (
	ModuleName         = "wasi_snapshot_preview1"
	ModuleNameUnstable = "wasi_unstable"
)

// WASI errno values used here.
const (
	ErrnoSuccess = 0
	ErrnoBadf    = 8
	ErrnoFault   = 21
	ErrnoInval   = 28
	ErrnoNoent   = 44
	ErrnoNosys   = 52
	ErrnoNotsup  = 58
)

// MaxRandom is the largest random_get request served.
const MaxRandom = 64 << 10

// Host is what a VM provides to its WASI functions.
type Host interface {
	// WriteFD receives one fd_write to fd 1 or 2 (trailing newline removed).
	WriteFD(fd uint32, msg []byte)
	// ProcExit is told about a proc_exit call; the call then traps with a
	// sys.ExitError, as an exit ends the instance.
	ProcExit(code uint32)
	// Environ returns the environment as KEY=VALUE strings.
	Environ() []string
	// Walltime returns the realtime clock in nanoseconds since the epoch.
	Walltime() int64
	// Nanotime returns a monotonic clock in nanoseconds.
	Nanotime() int64
}

// Lookup returns the Host of the VM making a call, or nil.
type Lookup func(ctx context.Context) Host

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

var le = binary.LittleEndian

// Instantiate registers both WASI module names in r.
func Instantiate(ctx context.Context, r wazero.Runtime, lookup Lookup) error {
	for _, name := range []string{ModuleName, ModuleNameUnstable} {
		b := r.NewHostModuleBuilder(name)
		export(b, lookup, name == ModuleName)
		if _, err := b.Instantiate(ctx); err != nil {
			return err
		}
	}
	return nil
}

func fn(b wazero.HostModuleBuilder, name string, f api.GoModuleFunc, params []api.ValueType, results ...api.ValueType) {
	b.NewFunctionBuilder().WithGoModuleFunction(f, params, results).Export(name)
}

func errno(e uint32) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = uint64(e) }
}

func ps(n int, t ...api.ValueType) []api.ValueType {
	if len(t) > 0 {
		return t
	}
	out := make([]api.ValueType, n)
	for i := range out {
		out[i] = i32
	}
	return out
}

func export(b wazero.HostModuleBuilder, lookup Lookup, preview1 bool) {
	// Arguments: none.
	fn(b, "args_sizes_get", func(_ context.Context, m api.Module, s []uint64) {
		s[0] = writeU32s(m, uint32(s[0]), 0, uint32(s[1]), 0)
	}, ps(2), i32)
	fn(b, "args_get", errno(ErrnoSuccess), ps(2), i32)

	// Environment: only the VM configuration's.
	fn(b, "environ_sizes_get", func(ctx context.Context, m api.Module, s []uint64) {
		var env []string
		if h := lookup(ctx); h != nil {
			env = h.Environ()
		}
		size := 0
		for _, e := range env {
			size += len(e) + 1
		}
		s[0] = writeU32s(m, uint32(s[0]), uint32(len(env)), uint32(s[1]), uint32(size))
	}, ps(2), i32)
	fn(b, "environ_get", func(ctx context.Context, m api.Module, s []uint64) {
		var env []string
		if h := lookup(ctx); h != nil {
			env = h.Environ()
		}
		ptrs, buf := uint32(s[0]), uint32(s[1])
		mem := m.Memory()
		for i, e := range env {
			if !mem.WriteUint32Le(ptrs+uint32(i)*4, buf) || !mem.WriteString(buf, e) || !mem.WriteByte(buf+uint32(len(e)), 0) {
				s[0] = ErrnoFault
				return
			}
			buf += uint32(len(e)) + 1
		}
		s[0] = ErrnoSuccess
	}, ps(2), i32)

	// Clocks: realtime and monotonic only, 1 ns resolution.
	fn(b, "clock_res_get", func(_ context.Context, m api.Module, s []uint64) {
		if id := uint32(s[0]); id > 1 {
			s[0] = ErrnoNotsup
			return
		}
		if !m.Memory().WriteUint64Le(uint32(s[1]), 1) {
			s[0] = ErrnoFault
			return
		}
		s[0] = ErrnoSuccess
	}, ps(2), i32)
	fn(b, "clock_time_get", func(ctx context.Context, m api.Module, s []uint64) {
		h := lookup(ctx)
		var t int64
		switch uint32(s[0]) {
		case 0:
			if h != nil {
				t = h.Walltime()
			}
		case 1:
			if h != nil {
				t = h.Nanotime()
			}
		default:
			s[0] = ErrnoNotsup
			return
		}
		if !m.Memory().WriteUint64Le(uint32(s[2]), uint64(t)) {
			s[0] = ErrnoFault
			return
		}
		s[0] = ErrnoSuccess
	}, ps(0, i32, i64, i32), i32)

	// Output: fd 1 and 2 go to the plugin log.
	write := func(ctx context.Context, m api.Module, fd, iovs, n, retPtr uint32) uint32 {
		if fd != 1 && fd != 2 {
			return ErrnoBadf
		}
		mem := m.Memory()
		if uint64(n) > 1<<20 {
			return ErrnoInval
		}
		var msg []byte
		for i := uint32(0); i < n; i++ {
			base, ok1 := mem.ReadUint32Le(iovs + i*8)
			l, ok2 := mem.ReadUint32Le(iovs + i*8 + 4)
			if !ok1 || !ok2 {
				return ErrnoFault
			}
			p, ok := mem.Read(base, l)
			if !ok {
				return ErrnoFault
			}
			msg = append(msg, p...)
		}
		if !mem.WriteUint32Le(retPtr, uint32(len(msg))) {
			return ErrnoFault
		}
		if len(msg) > 0 && msg[len(msg)-1] == '\n' {
			msg = msg[:len(msg)-1]
		}
		if h := lookup(ctx); h != nil {
			h.WriteFD(fd, msg)
		}
		return ErrnoSuccess
	}
	fn(b, "fd_write", func(ctx context.Context, m api.Module, s []uint64) {
		s[0] = uint64(write(ctx, m, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3])))
	}, ps(4), i32)
	fn(b, "fd_pwrite", func(ctx context.Context, m api.Module, s []uint64) {
		s[0] = uint64(write(ctx, m, uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[4])))
	}, ps(0, i32, i32, i32, i64, i32), i32)
	fn(b, "fd_read", errno(ErrnoNosys), ps(4), i32)
	fn(b, "fd_pread", errno(ErrnoNosys), ps(0, i32, i32, i32, i64, i32), i32)
	fn(b, "fd_seek", errno(ErrnoSuccess), ps(0, i32, i64, i32, i32), i32)
	fn(b, "fd_close", errno(ErrnoSuccess), ps(1), i32)
	fn(b, "fd_fdstat_get", func(_ context.Context, m api.Module, s []uint64) {
		fd, p := uint32(s[0]), uint32(s[1])
		if fd != 1 && fd != 2 {
			s[0] = ErrnoBadf
			return
		}
		var st [24]byte
		st[0] = 2                  // character device
		le.PutUint64(st[8:], 1<<6) // rights: FD_WRITE
		if !m.Memory().Write(p, st[:]) {
			s[0] = ErrnoFault
			return
		}
		s[0] = ErrnoSuccess
	}, ps(2), i32)
	fn(b, "fd_fdstat_set_flags", errno(ErrnoNotsup), ps(2), i32)
	fn(b, "fd_fdstat_set_rights", errno(ErrnoNotsup), ps(0, i32, i64, i64), i32)
	fn(b, "fd_prestat_get", errno(ErrnoBadf), ps(2), i32)
	fn(b, "fd_prestat_dir_name", errno(ErrnoBadf), ps(3), i32)
	fn(b, "fd_advise", errno(ErrnoNotsup), ps(0, i32, i64, i64, i32), i32)
	fn(b, "fd_allocate", errno(ErrnoNotsup), ps(0, i32, i64, i64), i32)
	fn(b, "fd_datasync", errno(ErrnoNotsup), ps(1), i32)
	fn(b, "fd_filestat_get", errno(ErrnoNotsup), ps(2), i32)
	fn(b, "fd_filestat_set_size", errno(ErrnoNotsup), ps(0, i32, i64), i32)
	fn(b, "fd_filestat_set_times", errno(ErrnoNotsup), ps(0, i32, i64, i64, i32), i32)
	fn(b, "fd_readdir", errno(ErrnoNotsup), ps(0, i32, i32, i32, i64, i32), i32)
	fn(b, "fd_renumber", errno(ErrnoNotsup), ps(2), i32)
	fn(b, "fd_sync", errno(ErrnoNotsup), ps(1), i32)
	fn(b, "fd_tell", errno(ErrnoNotsup), ps(2), i32)

	// No filesystem.
	fn(b, "path_open", errno(ErrnoNoent), ps(0, i32, i32, i32, i32, i32, i64, i64, i32, i32), i32)
	fn(b, "path_create_directory", errno(ErrnoNotsup), ps(3), i32)
	fn(b, "path_filestat_get", errno(ErrnoNotsup), ps(5), i32)
	fn(b, "path_filestat_set_times", errno(ErrnoNotsup), ps(0, i32, i32, i32, i32, i64, i64, i32), i32)
	fn(b, "path_link", errno(ErrnoNotsup), ps(7), i32)
	fn(b, "path_readlink", errno(ErrnoNotsup), ps(6), i32)
	fn(b, "path_remove_directory", errno(ErrnoNotsup), ps(3), i32)
	fn(b, "path_rename", errno(ErrnoNotsup), ps(6), i32)
	fn(b, "path_symlink", errno(ErrnoNotsup), ps(5), i32)
	fn(b, "path_unlink_file", errno(ErrnoNotsup), ps(3), i32)

	// Scheduling and process.
	fn(b, "poll_oneoff", func(_ context.Context, m api.Module, s []uint64) {
		if !m.Memory().WriteUint32Le(uint32(s[3]), 0) {
			s[0] = ErrnoFault
			return
		}
		s[0] = ErrnoSuccess
	}, ps(4), i32)
	fn(b, "sched_yield", errno(ErrnoSuccess), nil, i32)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, _ api.Module, s []uint64) {
		if h := lookup(ctx); h != nil {
			h.ProcExit(uint32(s[0]))
		}
		// The call ends here: the module cannot go on after exiting.
		panic(sys.NewExitError(uint32(s[0])))
	}), ps(1), nil).Export("proc_exit")
	fn(b, "proc_raise", errno(ErrnoNotsup), ps(1), i32)
	fn(b, "random_get", func(_ context.Context, m api.Module, s []uint64) {
		p, n := uint32(s[0]), uint32(s[1])
		if n > MaxRandom {
			s[0] = ErrnoInval
			return
		}
		buf, ok := m.Memory().Read(p, n)
		if !ok {
			s[0] = ErrnoFault
			return
		}
		_, _ = rand.Read(buf)
		s[0] = ErrnoSuccess
	}, ps(2), i32)

	// No sockets.
	if preview1 {
		fn(b, "sock_accept", errno(ErrnoNotsup), ps(3), i32)
	}
	fn(b, "sock_recv", errno(ErrnoNotsup), ps(6), i32)
	fn(b, "sock_send", errno(ErrnoNotsup), ps(5), i32)
	fn(b, "sock_shutdown", errno(ErrnoNotsup), ps(2), i32)
}

func writeU32s(m api.Module, p1, v1, p2, v2 uint32) uint64 {
	mem := m.Memory()
	if !mem.WriteUint32Le(p1, v1) || !mem.WriteUint32Le(p2, v2) {
		return ErrnoFault
	}
	return ErrnoSuccess
}
