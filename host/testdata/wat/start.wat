;; ABI 0.2.0 command module: `_start` must run before any callback;
;; proxy_on_configure succeeds only if it did.
(module
  (memory (export "memory") 1)
  (global $started (mut i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "_start") (global.set $started (i32.const 1)))
  (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (global.get $started))
)
