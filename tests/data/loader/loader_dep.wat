(module (import "loader_target" "four" (func $f (result i32)))
  (func (export "call_dependency") (result i32) call $f))
