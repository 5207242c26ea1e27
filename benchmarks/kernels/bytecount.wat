(module
  (type (;0;) (func (param i32) (result i64)))
  (table (;0;) 1 1 funcref)
  (memory (;0;) 3)
  (global (;0;) (mut i32) i32.const 132096)
  (export "memory" (memory 0))
  (export "run" (func 0))
  (func (;0;) (type 0) (param i32) (result i64)
    (local i64 i64 i32 i32 v128 v128 i32 v128 i32 i32)
    i64.const -7046029254386353131
    local.set 1
    i64.const -8
    local.set 2
    i32.const 1031
    local.set 3
    loop ;; label = @1
      local.get 3
      i32.const -7
      i32.add
      local.get 1
      i64.const 13
      i64.shl
      local.get 1
      i64.xor
      local.tee 1
      i64.const 7
      i64.shr_u
      local.get 1
      i64.xor
      local.tee 1
      i64.store8
      local.get 3
      i32.const -6
      i32.add
      local.get 1
      i64.const 8
      i64.shr_u
      i64.store8
      local.get 3
      local.get 1
      i64.const 17
      i64.shl
      local.get 1
      i64.xor
      local.tee 1
      i64.const 56
      i64.shr_u
      i64.store8
      local.get 3
      i32.const -1
      i32.add
      local.get 1
      i64.const 48
      i64.shr_u
      i64.store8
      local.get 3
      i32.const -2
      i32.add
      local.get 1
      i64.const 40
      i64.shr_u
      i64.store8
      local.get 3
      i32.const -3
      i32.add
      local.get 1
      i64.const 32
      i64.shr_u
      i64.store8
      local.get 3
      i32.const -4
      i32.add
      local.get 1
      i64.const 24
      i64.shr_u
      i64.store8
      local.get 3
      i32.const -5
      i32.add
      local.get 1
      i64.const 16
      i64.shr_u
      i64.store8
      local.get 3
      i32.const 8
      i32.add
      local.set 3
      local.get 2
      i64.const 8
      i64.add
      local.tee 2
      i64.const 65528
      i64.lt_u
      br_if 0 (;@1;)
    end
    i64.const 0
    local.set 1
    block ;; label = @1
      local.get 0
      i32.const 1
      i32.lt_s
      br_if 0 (;@1;)
      i32.const 0
      local.set 4
      loop ;; label = @2
        local.get 4
        i32.const 7
        i32.mul
        i32.const 1
        i32.add
        i8x16.splat
        local.set 5
        v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
        local.set 6
        i32.const 0
        local.set 7
        loop ;; label = @3
          v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
          local.set 8
          block ;; label = @4
            local.get 7
            local.get 7
            i32.const 4080
            i32.add
            local.tee 9
            i32.const 65536
            local.get 9
            i32.const 65536
            i32.lt_u
            select
            local.tee 10
            i32.ge_u
            br_if 0 (;@4;)
            local.get 7
            local.set 3
            loop ;; label = @5
              local.get 8
              local.get 3
              i32.const 1024
              i32.add
              v128.load
              local.get 5
              i8x16.eq
              v128.const i32x4 0x01010101 0x01010101 0x01010101 0x01010101
              v128.and
              i8x16.add
              local.set 8
              local.get 3
              i32.const 16
              i32.add
              local.tee 3
              local.get 10
              i32.lt_u
              br_if 0 (;@5;)
            end
          end
          local.get 8
          i16x8.extadd_pairwise_i8x16_u
          i32x4.extadd_pairwise_i16x8_u
          local.get 6
          i32x4.add
          local.set 6
          local.get 7
          i32.const 61456
          i32.lt_u
          local.set 3
          local.get 9
          local.set 7
          local.get 3
          br_if 0 (;@3;)
        end
        local.get 1
        i64.const 31
        i64.mul
        local.get 6
        i32x4.extract_lane 0
        local.get 6
        i32x4.extract_lane 1
        i32.add
        local.get 6
        i32x4.extract_lane 2
        i32.add
        local.get 6
        i32x4.extract_lane 3
        i32.add
        i64.extend_i32_u
        i64.add
        local.set 1
        local.get 4
        i32.const 1
        i32.add
        local.tee 4
        local.get 0
        i32.ne
        br_if 0 (;@2;)
      end
    end
    local.get 1
  )
)
