(module
  (type (;0;) (func (param i32) (result i64)))
  (table (;0;) 1 1 funcref)
  (memory (;0;) 2)
  (global (;0;) (mut i32) i32.const 99328)
  (export "memory" (memory 0))
  (export "run" (func 0))
  (func (;0;) (type 0) (param i32) (result i64)
    (local i32 i32 i32 i32 i32 i32 i32 i32 v128 v128 v128 v128 v128 v128 v128 v128 v128 v128 i64)
    i32.const 1024
    local.set 1
    i32.const 12345
    local.set 2
    i32.const 0
    local.set 3
    loop ;; label = @1
      i32.const 0
      local.set 4
      loop ;; label = @2
        local.get 1
        local.get 4
        i32.add
        local.tee 5
        i32.const 16384
        i32.add
        i32.const 0
        i32.store16
        local.get 5
        local.get 2
        i32.const 1103515245
        i32.mul
        i32.const 12345
        i32.add
        local.tee 2
        i32.const 16
        i32.shr_u
        i32.store8
        local.get 5
        i32.const 1
        i32.add
        local.get 2
        i32.const 1103515245
        i32.mul
        i32.const 12345
        i32.add
        local.tee 2
        i32.const 16
        i32.shr_u
        i32.store8
        local.get 4
        i32.const 2
        i32.add
        local.tee 4
        i32.const 128
        i32.ne
        br_if 0 (;@2;)
      end
      local.get 1
      i32.const 128
      i32.add
      local.set 1
      local.get 3
      i32.const 1
      i32.add
      local.tee 3
      i32.const 128
      i32.ne
      br_if 0 (;@1;)
    end
    i32.const 0
    local.set 6
    i32.const 0
    local.set 7
    block ;; label = @1
      local.get 0
      i32.const 1
      i32.lt_s
      br_if 0 (;@1;)
      i32.const 0
      local.set 8
      i32.const 0
      local.set 7
      loop ;; label = @2
        local.get 7
        i32.const 14
        i32.shl
        i32.const 1024
        i32.add
        local.set 2
        i32.const 1
        local.set 3
        local.get 7
        i32.const 1
        i32.xor
        local.tee 7
        i32.const 14
        i32.shl
        i32.const 1168
        i32.add
        local.set 1
        loop ;; label = @3
          local.get 3
          i32.const 1
          i32.add
          local.set 3
          i32.const 0
          local.set 5
          loop ;; label = @4
            local.get 1
            local.get 5
            i32.add
            local.get 2
            local.get 5
            i32.add
            local.tee 4
            i32.const 15
            i32.add
            v128.load align=1
            local.tee 9
            i16x8.extend_low_i8x16_u
            local.get 4
            i32.const 16
            i32.add
            v128.load
            local.tee 10
            i16x8.extend_low_i8x16_u
            i32.const 1
            i16x8.shl
            i16x8.add
            local.get 4
            i32.const 17
            i32.add
            v128.load align=1
            local.tee 11
            i16x8.extend_low_i8x16_u
            i16x8.add
            local.get 4
            i32.const 271
            i32.add
            v128.load align=1
            local.tee 12
            i16x8.extend_low_i8x16_u
            i16x8.add
            local.get 4
            i32.const 272
            i32.add
            v128.load
            local.tee 13
            i16x8.extend_low_i8x16_u
            i32.const 1
            i16x8.shl
            i16x8.add
            local.get 4
            i32.const 273
            i32.add
            v128.load align=1
            local.tee 14
            i16x8.extend_low_i8x16_u
            i16x8.add
            local.get 4
            i32.const 144
            i32.add
            v128.load
            local.tee 15
            i16x8.extend_low_i8x16_u
            i32.const 1
            i16x8.shl
            local.get 4
            i32.const 143
            i32.add
            v128.load align=1
            local.tee 16
            i16x8.extend_low_i8x16_u
            i16x8.add
            local.get 4
            i32.const 145
            i32.add
            v128.load align=1
            local.tee 17
            i16x8.extend_low_i8x16_u
            i16x8.add
            i32.const 1
            i16x8.shl
            i16x8.add
            v128.const i32x4 0x00080008 0x00080008 0x00080008 0x00080008
            local.tee 18
            i16x8.add
            i32.const 4
            i16x8.shr_u
            local.get 9
            i16x8.extend_high_i8x16_u
            local.get 10
            i16x8.extend_high_i8x16_u
            i32.const 1
            i16x8.shl
            i16x8.add
            local.get 11
            i16x8.extend_high_i8x16_u
            i16x8.add
            local.get 12
            i16x8.extend_high_i8x16_u
            i16x8.add
            local.get 13
            i16x8.extend_high_i8x16_u
            i32.const 1
            i16x8.shl
            i16x8.add
            local.get 14
            i16x8.extend_high_i8x16_u
            i16x8.add
            local.get 15
            i16x8.extend_high_i8x16_u
            i32.const 1
            i16x8.shl
            local.get 16
            i16x8.extend_high_i8x16_u
            i16x8.add
            local.get 17
            i16x8.extend_high_i8x16_u
            i16x8.add
            i32.const 1
            i16x8.shl
            i16x8.add
            local.get 18
            i16x8.add
            i32.const 4
            i16x8.shr_u
            i8x16.narrow_i16x8_u
            v128.store
            local.get 5
            i32.const 16
            i32.add
            local.tee 5
            i32.const 96
            i32.lt_u
            br_if 0 (;@4;)
          end
          local.get 2
          i32.const 128
          i32.add
          local.set 2
          local.get 1
          i32.const 128
          i32.add
          local.set 1
          local.get 3
          i32.const 127
          i32.ne
          br_if 0 (;@3;)
        end
        local.get 8
        i32.const 1
        i32.add
        local.tee 8
        local.get 0
        i32.ne
        br_if 0 (;@2;)
      end
    end
    local.get 7
    i32.const 14
    i32.shl
    i32.const 1024
    i32.add
    local.set 2
    i64.const -3750763034362895579
    local.set 19
    loop ;; label = @1
      i32.const 0
      local.set 5
      loop ;; label = @2
        local.get 19
        local.get 2
        local.get 5
        i32.add
        local.tee 4
        i64.load8_u
        i64.xor
        i64.const 1099511628211
        i64.mul
        local.get 4
        i32.const 1
        i32.add
        i64.load8_u
        i64.xor
        i64.const 1099511628211
        i64.mul
        local.get 4
        i32.const 2
        i32.add
        i64.load8_u
        i64.xor
        i64.const 1099511628211
        i64.mul
        local.get 4
        i32.const 3
        i32.add
        i64.load8_u
        i64.xor
        i64.const 1099511628211
        i64.mul
        local.set 19
        local.get 5
        i32.const 4
        i32.add
        local.tee 5
        i32.const 128
        i32.ne
        br_if 0 (;@2;)
      end
      local.get 2
      i32.const 128
      i32.add
      local.set 2
      local.get 6
      i32.const 1
      i32.add
      local.tee 6
      i32.const 128
      i32.ne
      br_if 0 (;@1;)
    end
    local.get 19
  )
)
