;; Reactor with _initialize and main(argc, argv): the host must call
;; _initialize, then main(0, 0), and never _start.
(module
  (memory (export "memory") 1)
  (global $state (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize")
    (if (i32.ne (global.get $state) (i32.const 0)) (then unreachable))
    (global.set $state (i32.const 1)))
  (func (export "main") (param i32 i32) (result i32)
    (if (i32.ne (global.get $state) (i32.const 1)) (then unreachable))
    (if (i32.or (local.get 0) (local.get 1)) (then unreachable))
    (global.set $state (i32.const 2))
    (i32.const 0))
  (func (export "_start") unreachable)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.eq (global.get $state) (i32.const 2)))
)
