(module
  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasi_random") (result i32)
    (drop (call $r (i32.const 0) (i32.const 4))) (i32.load8_u (i32.const 0))))
