;; ABI 0.1.0 module: on_request_headers takes (context_id, num_headers) and
;; pauses when it sees 6 headers; proxy_get_configuration works in configure.
(module
  (import "env" "proxy_get_configuration" (func $cfg (param i32 i32) (result i32)))
  (import "env" "proxy_continue_request" (func $cont (result i32)))
  (import "env" "proxy_clear_route_cache" (func $crc (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_1_0"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $cfg (i32.const 100) (i32.const 104)))
    ;; configuration must be "ok"
    (i32.and (i32.eq (i32.load (i32.const 104)) (i32.const 2))
             (i32.eq (i32.load16_u (i32.load (i32.const 100))) (i32.const 0x6b6f))))
  (func (export "proxy_on_request_headers") (param i32 i32) (result i32)
    (drop (call $crc))
    (if (result i32) (i32.eq (local.get 1) (i32.const 6)) (then (i32.const 1)) (else (i32.const 0))))
)
