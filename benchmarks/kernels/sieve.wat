;; Sieve of Eratosthenes over linear memory: one byte per number below n (memory grows to fit).
;; run(n) = the sum of all primes below n (i64), so every marking pass affects the result.
(module
  (memory 1)

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $sum i64) (local $pages i32)
    ;; grow memory to ceil(n / 65536) pages
    local.get $n
    i32.const 65535
    i32.add
    i32.const 16
    i32.shr_u
    memory.size
    i32.sub
    local.tee $pages
    i32.const 0
    i32.gt_s
    if
      local.get $pages
      memory.grow
      i32.const -1
      i32.eq
      if
        unreachable
      end
    end
    ;; clear flags[0..n) eight bytes at a time (0 means "maybe prime"); the memory is a whole
    ;; number of pages, so rounding n up to a multiple of 8 stays inside it
    block $cleared
      loop $clear
        local.get $i
        local.get $n
        i32.ge_u
        br_if $cleared
        local.get $i
        i64.const 0
        i64.store
        local.get $i
        i32.const 8
        i32.add
        local.set $i
        br $clear
      end
    end
    local.get $n
    i32.const 2
    i32.le_u
    if
      i64.const 0
      return
    end
    ;; for i = 2; i * i < n; i++: if flags[i] == 0, mark i*i, i*i+i, ... as composite
    i32.const 2
    local.set $i
    block $done
      loop $outer
        local.get $i
        local.get $i
        i32.mul
        local.get $n
        i32.ge_u
        br_if $done
        local.get $i
        i32.load8_u
        i32.eqz
        if
          local.get $i
          local.get $i
          i32.mul
          local.set $j
          loop $mark
            local.get $j
            i32.const 1
            i32.store8
            local.get $j
            local.get $i
            i32.add
            local.tee $j
            local.get $n
            i32.lt_u
            br_if $mark
          end
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $outer
      end
    end
    ;; sum the primes
    i32.const 2
    local.set $i
    loop $count
      local.get $i
      i32.load8_u
      i32.eqz
      if
        local.get $sum
        local.get $i
        i64.extend_i32_u
        i64.add
        local.set $sum
      end
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $count
    end
    local.get $sum))
