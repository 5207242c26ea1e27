;; Byte-copy loop: two 4096-byte buffers (at 0 and 4096); each of n passes copies one into the
;; other a byte at a time with load8_u/store8, reading from a pass-dependent rotation and summing
;; the bytes it moves. run(n) = (byte sum << 32) xor FNV-1a of the last buffer written.
(module
  (memory 1)

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $seed i32) (local $pass i32)
    (local $src i32) (local $dst i32) (local $t i32) (local $shift i32)
    (local $byte i32) (local $sum i64) (local $hash i32)
    ;; fill buffer 0 from an LCG: seed = seed * 1103515245 + 12345, byte = seed >> 16
    i32.const 1
    local.set $seed
    loop $fill
      local.get $seed
      i32.const 1103515245
      i32.mul
      i32.const 12345
      i32.add
      local.set $seed
      local.get $i
      local.get $seed
      i32.const 16
      i32.shr_u
      i32.store8
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 4096
      i32.lt_u
      br_if $fill
    end
    i32.const 0
    local.set $src
    i32.const 4096
    local.set $dst
    block $copied
      local.get $n
      i32.eqz
      br_if $copied
      loop $pass_loop
        ;; dst[i] = src[(i + 13 * pass) & 4095]
        local.get $pass
        i32.const 13
        i32.mul
        local.set $shift
        i32.const 0
        local.set $i
        loop $copy
          local.get $dst
          local.get $i
          i32.add
          local.get $src
          local.get $i
          local.get $shift
          i32.add
          i32.const 4095
          i32.and
          i32.add
          i32.load8_u
          local.tee $byte
          i32.store8
          local.get $sum
          local.get $byte
          i64.extend_i32_u
          i64.add
          local.set $sum
          local.get $i
          i32.const 1
          i32.add
          local.tee $i
          i32.const 4096
          i32.lt_u
          br_if $copy
        end
        ;; swap the buffers
        local.get $src
        local.set $t
        local.get $dst
        local.set $src
        local.get $t
        local.set $dst
        local.get $pass
        i32.const 1
        i32.add
        local.tee $pass
        local.get $n
        i32.lt_u
        br_if $pass_loop
      end
    end
    ;; FNV-1a over the last buffer written (now src)
    i32.const 0x811C9DC5
    local.set $hash
    i32.const 0
    local.set $i
    loop $fnv
      local.get $hash
      local.get $src
      local.get $i
      i32.add
      i32.load8_u
      i32.xor
      i32.const 0x01000193
      i32.mul
      local.set $hash
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 4096
      i32.lt_u
      br_if $fnv
    end
    local.get $sum
    i64.const 32
    i64.shl
    local.get $hash
    i64.extend_i32_u
    i64.xor))
