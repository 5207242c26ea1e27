(module (func (export "four") (result i32) i32.const 4) (memory (export "mem") 1))
