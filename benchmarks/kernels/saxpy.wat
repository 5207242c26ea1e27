(module
  (type (;0;) (func (param i32) (result i64)))
  (table (;0;) 1 1 funcref)
  (memory (;0;) 2)
  (global (;0;) (mut i32) i32.const 99328)
  (export "memory" (memory 0))
  (export "run" (func 0))
  (func (;0;) (type 0) (param i32) (result i64)
    (local v128 i32 i32 i32 i32 i32 i64 v128 v128 v128 v128 v128)
    v128.const i32x4 0x00010000 0x00030002 0x00000000 0x00000000
    local.set 1
    i32.const -16384
    local.set 2
    loop ;; label = @1
      local.get 2
      i32.const 33792
      i32.add
      local.get 1
      i16x8.extract_lane_u 0
      local.tee 3
      i32.const 5
      i32.rem_u
      f32.convert_i32_u
      f32x4.splat
      local.get 1
      i16x8.extract_lane_u 1
      local.tee 4
      i32.const 5
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 1
      local.get 1
      i16x8.extract_lane_u 2
      local.tee 5
      i32.const 5
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 2
      local.get 1
      i16x8.extract_lane_u 3
      local.tee 6
      i32.const 5
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 3
      v128.const i32x4 0x3f000000 0x3f000000 0x3f000000 0x3f000000
      f32x4.mul
      v128.store
      local.get 2
      i32.const 17408
      i32.add
      local.get 3
      i32.const 17
      i32.rem_u
      f32.convert_i32_u
      f32x4.splat
      local.get 4
      i32.const 17
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 1
      local.get 5
      i32.const 17
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 2
      local.get 6
      i32.const 17
      i32.rem_u
      f32.convert_i32_u
      f32x4.replace_lane 3
      v128.const i32x4 0x3e800000 0x3e800000 0x3e800000 0x3e800000
      f32x4.mul
      v128.const i32x4 0xc0000000 0xc0000000 0xc0000000 0xc0000000
      f32x4.add
      v128.store
      local.get 1
      v128.const i32x4 0x00040004 0x00040004 0x00000000 0x00000000
      i16x8.add
      local.set 1
      local.get 2
      i32.const 16
      i32.add
      local.tee 2
      br_if 0 (;@1;)
    end
    block ;; label = @1
      block ;; label = @2
        local.get 0
        i32.const 1
        i32.ge_s
        br_if 0 (;@2;)
        i64.const 0
        local.set 7
        br 1 (;@1;)
      end
      i32.const 0
      local.set 5
      i64.const 0
      local.set 7
      loop ;; label = @2
        local.get 5
        i32.const 13
        i32.rem_u
        f32.convert_i32_s
        f32.const 0x1.0624dep-10 (;=0.001;)
        f32.mul
        f32.const -0x1.89374cp-8 (;=-0.006;)
        f32.add
        f32x4.splat
        local.set 8
        v128.const i32x4 0x00000000 0x00000000 0x00000000 0x00000000
        local.set 1
        i32.const -4
        local.set 3
        i32.const 0
        local.set 2
        loop ;; label = @3
          local.get 2
          i32.const 17408
          i32.add
          local.tee 4
          local.get 8
          local.get 2
          i32.const 1024
          i32.add
          v128.load
          local.tee 9
          f32x4.mul
          local.get 4
          v128.load
          f32x4.add
          local.tee 10
          v128.store
          local.get 2
          i32.const 17424
          i32.add
          local.tee 4
          local.get 8
          local.get 2
          i32.const 1040
          i32.add
          v128.load
          local.tee 11
          f32x4.mul
          local.get 4
          v128.load
          f32x4.add
          local.tee 12
          v128.store
          local.get 1
          local.get 9
          local.get 10
          f32x4.mul
          f32x4.add
          local.get 11
          local.get 12
          f32x4.mul
          f32x4.add
          local.set 1
          local.get 2
          i32.const 32
          i32.add
          local.set 2
          local.get 3
          i32.const 8
          i32.add
          local.tee 3
          i32.const 4092
          i32.lt_u
          br_if 0 (;@3;)
        end
        local.get 7
        i64.const 1000003
        i64.mul
        local.get 1
        f32x4.extract_lane 3
        local.get 1
        f32x4.extract_lane 2
        local.get 1
        f32x4.extract_lane 0
        local.get 1
        f32x4.extract_lane 1
        f32.add
        f32.add
        f32.add
        i32.reinterpret_f32
        i64.extend_i32_u
        i64.add
        local.set 7
        local.get 5
        i32.const 1
        i32.add
        local.tee 5
        local.get 0
        i32.ne
        br_if 0 (;@2;)
      end
    end
    local.get 7
  )
)
