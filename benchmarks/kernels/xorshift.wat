;; i64 arithmetic loop: a xorshift64 generator feeding a multiply-add accumulator.
;; Each of the n steps mixes shl/shr_u/xor on the state and mul/add/rotl on the accumulator;
;; the final accumulator is the checksum.
(module
  (func (export "run") (param $n i32) (result i64)
    (local $x i64) (local $acc i64) (local $i i32)
    i64.const 0x9E3779B97F4A7C15
    local.set $x
    i64.const 1
    local.set $acc
    local.get $n
    i32.eqz
    if
      local.get $acc
      return
    end
    loop $step
      ;; x ^= x << 13; x ^= x >> 7; x ^= x << 17
      local.get $x
      local.get $x
      i64.const 13
      i64.shl
      i64.xor
      local.set $x
      local.get $x
      local.get $x
      i64.const 7
      i64.shr_u
      i64.xor
      local.set $x
      local.get $x
      local.get $x
      i64.const 17
      i64.shl
      i64.xor
      local.set $x
      ;; acc = rotl(acc * 6364136223846793005 + x, 5) ^ i
      local.get $acc
      i64.const 6364136223846793005
      i64.mul
      local.get $x
      i64.add
      i64.const 5
      i64.rotl
      local.get $i
      i64.extend_i32_u
      i64.xor
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
