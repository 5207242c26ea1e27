;; call_indirect in a loop: eight small i64 functions in a table, the callee chosen from the
;; loop counter. run(n) = the accumulator after n indirect calls.
(module
  (type $op (func (param i64 i32) (result i64)))
  (table 8 funcref)
  (elem (i32.const 0) $add $mul $xor $rotl $sub $shr $neg_add $mix)

  (func $add (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    local.get $i
    i64.extend_i32_u
    i64.add
    i64.const 0x12345
    i64.add)
  (func $mul (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    i64.const 0x5851F42D4C957F2D
    i64.mul
    i64.const 1
    i64.add)
  (func $xor (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    local.get $a
    i64.const 29
    i64.shr_u
    i64.xor)
  (func $rotl (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    local.get $i
    i64.extend_i32_u
    i64.rotl)
  (func $sub (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    i64.const 0x0F0F0F0F0F0F0F0F
    i64.sub)
  (func $shr (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    local.get $a
    i64.const 3
    i64.shr_s
    i64.add)
  (func $neg_add (type $op) (param $a i64) (param $i i32) (result i64)
    i64.const 0
    local.get $a
    i64.sub
    local.get $i
    i64.extend_i32_s
    i64.add)
  (func $mix (type $op) (param $a i64) (param $i i32) (result i64)
    local.get $a
    local.get $a
    i64.const 31
    i64.shl
    i64.or
    local.get $i
    i64.extend_i32_u
    i64.const 32
    i64.shl
    i64.xor)

  (func (export "run") (param $n i32) (result i64)
    (local $acc i64) (local $i i32)
    i64.const 0x243F6A8885A308D3
    local.set $acc
    local.get $n
    i32.eqz
    if
      local.get $acc
      return
    end
    loop $step
      local.get $acc
      local.get $i
      ;; index = (i + (i >> 3)) & 7
      local.get $i
      local.get $i
      i32.const 3
      i32.shr_u
      i32.add
      i32.const 7
      i32.and
      call_indirect (type $op)
      local.set $acc
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $step
    end
    local.get $acc))
