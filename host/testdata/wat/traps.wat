;; ABI 0.2.1 module for failure tests. The request path selects the
;; behaviour of on_request_headers: "/trap" executes unreachable, "/loop"
;; spins forever, "/oob" loads out of bounds, anything else continues.
(module
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 2)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) ":path")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $p i32)
    (drop (call $get (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 100) (i32.const 104)))
    (local.set $p (i32.load (i32.const 100)))
    ;; "/trap"
    (if (i32.eq (i32.load8_u offset=1 (local.get $p)) (i32.const 116)) (then unreachable))
    ;; "/loop"
    (if (i32.eq (i32.load8_u offset=1 (local.get $p)) (i32.const 108))
      (then (loop $l (br $l))))
    ;; "/oob"
    (if (i32.eq (i32.load8_u offset=1 (local.get $p)) (i32.const 111))
      (then (drop (i32.load (i32.const 200000)))))
    (i32.const 0))
)
