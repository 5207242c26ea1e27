;; f64 matrix multiply: C = A * B for n x n row-major matrices in linear memory
;; (A at 0, B at 8n^2, C at 16n^2; memory grows to fit).
;; A[i][j] = ((31i + 17j) mod 101) / 8 and B[i][j] = ((13i + 11j + 5) mod 89) * 0.125 - 5.
;; C[i][j] sums A[i][k] * B[k][j] for k = 0, 1, ...; run(n) returns the bits of the row-major
;; sum of all C[i][j] (i64.reinterpret_f64), so every product counts and rounding is exact.
(module
  (memory 1)

  (func (export "run") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $k i32)
    (local $row i32) (local $b i32) (local $c i32) (local $need i32)
    (local $pa i32) (local $pb i32)
    (local $acc f64) (local $total f64)
    ;; row = 8n bytes; B and C bases
    local.get $n
    i32.const 3
    i32.shl
    local.set $row
    local.get $row
    local.get $n
    i32.mul
    local.tee $b
    i32.const 1
    i32.shl
    local.set $c
    ;; grow to ceil(24n^2 / 65536) pages
    local.get $c
    local.get $b
    i32.add
    i32.const 65535
    i32.add
    i32.const 16
    i32.shr_u
    memory.size
    i32.sub
    local.tee $need
    i32.const 0
    i32.gt_s
    if
      local.get $need
      memory.grow
      i32.const -1
      i32.eq
      if
        unreachable
      end
    end
    local.get $n
    i32.eqz
    if
      i64.const 0
      return
    end
    ;; initialise A and B
    loop $init_i
      i32.const 0
      local.set $j
      loop $init_j
        ;; address of [i][j] relative to a matrix base
        local.get $i
        local.get $row
        i32.mul
        local.get $j
        i32.const 3
        i32.shl
        i32.add
        local.tee $pa
        local.get $i
        i32.const 31
        i32.mul
        local.get $j
        i32.const 17
        i32.mul
        i32.add
        i32.const 101
        i32.rem_u
        f64.convert_i32_u
        f64.const 8
        f64.div
        f64.store
        local.get $pa
        local.get $b
        i32.add
        local.get $i
        i32.const 13
        i32.mul
        local.get $j
        i32.const 11
        i32.mul
        i32.add
        i32.const 5
        i32.add
        i32.const 89
        i32.rem_u
        f64.convert_i32_u
        f64.const 0.125
        f64.mul
        f64.const 5
        f64.sub
        f64.store
        local.get $j
        i32.const 1
        i32.add
        local.tee $j
        local.get $n
        i32.lt_u
        br_if $init_j
      end
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $init_i
    end
    ;; C = A * B, summing every C[i][j] into total as it is stored
    f64.const 0
    local.set $total
    i32.const 0
    local.set $i
    loop $mul_i
      i32.const 0
      local.set $j
      loop $mul_j
        f64.const 0
        local.set $acc
        ;; pa walks row i of A, pb walks column j of B
        local.get $i
        local.get $row
        i32.mul
        local.set $pa
        local.get $b
        local.get $j
        i32.const 3
        i32.shl
        i32.add
        local.set $pb
        i32.const 0
        local.set $k
        loop $mul_k
          local.get $acc
          local.get $pa
          f64.load
          local.get $pb
          f64.load
          f64.mul
          f64.add
          local.set $acc
          local.get $pa
          i32.const 8
          i32.add
          local.set $pa
          local.get $pb
          local.get $row
          i32.add
          local.set $pb
          local.get $k
          i32.const 1
          i32.add
          local.tee $k
          local.get $n
          i32.lt_u
          br_if $mul_k
        end
        ;; C[i][j] = acc
        local.get $c
        local.get $i
        local.get $row
        i32.mul
        i32.add
        local.get $j
        i32.const 3
        i32.shl
        i32.add
        local.get $acc
        f64.store
        local.get $total
        local.get $acc
        f64.add
        local.set $total
        local.get $j
        i32.const 1
        i32.add
        local.tee $j
        local.get $n
        i32.lt_u
        br_if $mul_j
      end
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      local.get $n
      i32.lt_u
      br_if $mul_i
    end
    local.get $total
    i64.reinterpret_f64))
