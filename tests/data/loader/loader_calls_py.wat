(module (import "loader_py" "answer" (func $a (result i32)))
  (func (export "call_python") (result i32) call $a))
