;; An emscripten-style module importing emscripten_notify_memory_growth and
;; pthread_equal; configure succeeds if pthread_equal behaves.
(module
  (import "env" "emscripten_notify_memory_growth" (func $grow (param i32)))
  (import "env" "pthread_equal" (func $peq (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "_initialize") (call $grow (i32.const 0)))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (i32.and (call $peq (i32.const 7) (i32.const 7)) (i32.eqz (call $peq (i32.const 7) (i32.const 8)))))
)
