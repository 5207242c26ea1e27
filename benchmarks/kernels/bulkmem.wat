;; Many small bulk-memory operations, as a layout or string-handling program makes them: each of
;; n rounds draws two LCG values; the first picks a memory.copy of 1-64 bytes inside the first
;; 4 KiB (source and destination overlap in either direction), the second a memory.fill of 0-63
;; bytes in the next 4 KiB; a rolling hash reads one byte behind each. run(n) = (hash << 32)
;; xor FNV-1a of the first 8256 bytes.
(module
  (memory 1)

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $seed i32) (local $a i32) (local $b i32)
    (local $dst i32) (local $fdst i32) (local $len i32) (local $h i32) (local $fnv i32)
    ;; bytes 0..8191 from the LCG
    i32.const 1
    local.set $seed
    loop $init
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
      i32.const 8192
      i32.lt_u
      br_if $init
    end
    i32.const 0
    local.set $i
    block $done
      loop $round
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        ;; a = lcg(seed): copy (a >> 24 & 63) + 1 bytes from (a >> 4) & 4095 to (a >> 12) & 4095
        local.get $seed
        i32.const 1103515245
        i32.mul
        i32.const 12345
        i32.add
        local.tee $a
        local.set $seed
        local.get $a
        i32.const 12
        i32.shr_u
        i32.const 4095
        i32.and
        local.tee $dst
        local.get $a
        i32.const 4
        i32.shr_u
        i32.const 4095
        i32.and
        local.get $a
        i32.const 24
        i32.shr_u
        i32.const 63
        i32.and
        i32.const 1
        i32.add
        memory.copy
        ;; b = lcg(seed): fill b >> 26 bytes at 4096 + ((b >> 8) & 4095) with b >> 16
        local.get $seed
        i32.const 1103515245
        i32.mul
        i32.const 12345
        i32.add
        local.tee $b
        local.set $seed
        local.get $b
        i32.const 8
        i32.shr_u
        i32.const 4095
        i32.and
        i32.const 4096
        i32.add
        local.tee $fdst
        local.get $b
        i32.const 16
        i32.shr_u
        local.get $b
        i32.const 26
        i32.shr_u
        memory.fill
        ;; h = h * 31 + mem[dst] + mem[fdst]
        local.get $h
        i32.const 31
        i32.mul
        local.get $dst
        i32.load8_u
        i32.add
        local.get $fdst
        i32.load8_u
        i32.add
        local.set $h
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $round
      end
    end
    ;; FNV-1a over bytes 0..8255
    i32.const 0x811C9DC5
    local.set $fnv
    i32.const 0
    local.set $i
    loop $hash
      local.get $fnv
      local.get $i
      i32.load8_u
      i32.xor
      i32.const 0x01000193
      i32.mul
      local.set $fnv
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 8256
      i32.lt_u
      br_if $hash
    end
    local.get $h
    i64.extend_i32_u
    i64.const 32
    i64.shl
    local.get $fnv
    i64.extend_i32_u
    i64.xor))
