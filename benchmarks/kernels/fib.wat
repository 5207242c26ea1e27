;; Recursive Fibonacci: exercises calls and returns.
;; run(n) = fib(n), with fib(0) = 0 and fib(1) = 1; the result is the checksum.
(module
  (func $fib (param $n i32) (result i32)
    local.get $n
    i32.const 2
    i32.lt_u
    if
      local.get $n
      return
    end
    local.get $n
    i32.const 1
    i32.sub
    call $fib
    local.get $n
    i32.const 2
    i32.sub
    call $fib
    i32.add)

  (func (export "run") (param $n i32) (result i32)
    local.get $n
    call $fib))
