"""The SIMD (0xFD prefix) opcodes of WebAssembly 2.0, in the text format of opcodes._TABLE:
``fd:<sub-opcode, decimal> <name> <immediate kind> : <params> -> <results>``.
opcodes.py merges it."""

from __future__ import annotations

# Sub-opcode numbers follow the binary format chapter of the 2.0 specification (vector
# instructions); the gaps (0x9a, 0xa2, 0xa5, ...) are unassigned in 2.0.
SIMD_TABLE = """
fd:0 v128.load memarg : i32 -> v128
fd:1 v128.load8x8_s memarg : i32 -> v128
fd:2 v128.load8x8_u memarg : i32 -> v128
fd:3 v128.load16x4_s memarg : i32 -> v128
fd:4 v128.load16x4_u memarg : i32 -> v128
fd:5 v128.load32x2_s memarg : i32 -> v128
fd:6 v128.load32x2_u memarg : i32 -> v128
fd:7 v128.load8_splat memarg : i32 -> v128
fd:8 v128.load16_splat memarg : i32 -> v128
fd:9 v128.load32_splat memarg : i32 -> v128
fd:10 v128.load64_splat memarg : i32 -> v128
fd:11 v128.store memarg : i32 v128 ->
fd:12 v128.const v128 : -> v128
fd:13 i8x16.shuffle shuffle : v128 v128 -> v128
fd:14 i8x16.swizzle none : v128 v128 -> v128
fd:15 i8x16.splat none : i32 -> v128
fd:16 i16x8.splat none : i32 -> v128
fd:17 i32x4.splat none : i32 -> v128
fd:18 i64x2.splat none : i64 -> v128
fd:19 f32x4.splat none : f32 -> v128
fd:20 f64x2.splat none : f64 -> v128
fd:21 i8x16.extract_lane_s lane : v128 -> i32
fd:22 i8x16.extract_lane_u lane : v128 -> i32
fd:23 i8x16.replace_lane lane : v128 i32 -> v128
fd:24 i16x8.extract_lane_s lane : v128 -> i32
fd:25 i16x8.extract_lane_u lane : v128 -> i32
fd:26 i16x8.replace_lane lane : v128 i32 -> v128
fd:27 i32x4.extract_lane lane : v128 -> i32
fd:28 i32x4.replace_lane lane : v128 i32 -> v128
fd:29 i64x2.extract_lane lane : v128 -> i64
fd:30 i64x2.replace_lane lane : v128 i64 -> v128
fd:31 f32x4.extract_lane lane : v128 -> f32
fd:32 f32x4.replace_lane lane : v128 f32 -> v128
fd:33 f64x2.extract_lane lane : v128 -> f64
fd:34 f64x2.replace_lane lane : v128 f64 -> v128
fd:35 i8x16.eq none : v128 v128 -> v128
fd:36 i8x16.ne none : v128 v128 -> v128
fd:37 i8x16.lt_s none : v128 v128 -> v128
fd:38 i8x16.lt_u none : v128 v128 -> v128
fd:39 i8x16.gt_s none : v128 v128 -> v128
fd:40 i8x16.gt_u none : v128 v128 -> v128
fd:41 i8x16.le_s none : v128 v128 -> v128
fd:42 i8x16.le_u none : v128 v128 -> v128
fd:43 i8x16.ge_s none : v128 v128 -> v128
fd:44 i8x16.ge_u none : v128 v128 -> v128
fd:45 i16x8.eq none : v128 v128 -> v128
fd:46 i16x8.ne none : v128 v128 -> v128
fd:47 i16x8.lt_s none : v128 v128 -> v128
fd:48 i16x8.lt_u none : v128 v128 -> v128
fd:49 i16x8.gt_s none : v128 v128 -> v128
fd:50 i16x8.gt_u none : v128 v128 -> v128
fd:51 i16x8.le_s none : v128 v128 -> v128
fd:52 i16x8.le_u none : v128 v128 -> v128
fd:53 i16x8.ge_s none : v128 v128 -> v128
fd:54 i16x8.ge_u none : v128 v128 -> v128
fd:55 i32x4.eq none : v128 v128 -> v128
fd:56 i32x4.ne none : v128 v128 -> v128
fd:57 i32x4.lt_s none : v128 v128 -> v128
fd:58 i32x4.lt_u none : v128 v128 -> v128
fd:59 i32x4.gt_s none : v128 v128 -> v128
fd:60 i32x4.gt_u none : v128 v128 -> v128
fd:61 i32x4.le_s none : v128 v128 -> v128
fd:62 i32x4.le_u none : v128 v128 -> v128
fd:63 i32x4.ge_s none : v128 v128 -> v128
fd:64 i32x4.ge_u none : v128 v128 -> v128
fd:65 f32x4.eq none : v128 v128 -> v128
fd:66 f32x4.ne none : v128 v128 -> v128
fd:67 f32x4.lt none : v128 v128 -> v128
fd:68 f32x4.gt none : v128 v128 -> v128
fd:69 f32x4.le none : v128 v128 -> v128
fd:70 f32x4.ge none : v128 v128 -> v128
fd:71 f64x2.eq none : v128 v128 -> v128
fd:72 f64x2.ne none : v128 v128 -> v128
fd:73 f64x2.lt none : v128 v128 -> v128
fd:74 f64x2.gt none : v128 v128 -> v128
fd:75 f64x2.le none : v128 v128 -> v128
fd:76 f64x2.ge none : v128 v128 -> v128
fd:77 v128.not none : v128 -> v128
fd:78 v128.and none : v128 v128 -> v128
fd:79 v128.andnot none : v128 v128 -> v128
fd:80 v128.or none : v128 v128 -> v128
fd:81 v128.xor none : v128 v128 -> v128
fd:82 v128.bitselect none : v128 v128 v128 -> v128
fd:83 v128.any_true none : v128 -> i32
fd:84 v128.load8_lane memarg_lane : i32 v128 -> v128
fd:85 v128.load16_lane memarg_lane : i32 v128 -> v128
fd:86 v128.load32_lane memarg_lane : i32 v128 -> v128
fd:87 v128.load64_lane memarg_lane : i32 v128 -> v128
fd:88 v128.store8_lane memarg_lane : i32 v128 ->
fd:89 v128.store16_lane memarg_lane : i32 v128 ->
fd:90 v128.store32_lane memarg_lane : i32 v128 ->
fd:91 v128.store64_lane memarg_lane : i32 v128 ->
fd:92 v128.load32_zero memarg : i32 -> v128
fd:93 v128.load64_zero memarg : i32 -> v128
fd:94 f32x4.demote_f64x2_zero none : v128 -> v128
fd:95 f64x2.promote_low_f32x4 none : v128 -> v128
fd:96 i8x16.abs none : v128 -> v128
fd:97 i8x16.neg none : v128 -> v128
fd:98 i8x16.popcnt none : v128 -> v128
fd:99 i8x16.all_true none : v128 -> i32
fd:100 i8x16.bitmask none : v128 -> i32
fd:101 i8x16.narrow_i16x8_s none : v128 v128 -> v128
fd:102 i8x16.narrow_i16x8_u none : v128 v128 -> v128
fd:103 f32x4.ceil none : v128 -> v128
fd:104 f32x4.floor none : v128 -> v128
fd:105 f32x4.trunc none : v128 -> v128
fd:106 f32x4.nearest none : v128 -> v128
fd:107 i8x16.shl none : v128 i32 -> v128
fd:108 i8x16.shr_s none : v128 i32 -> v128
fd:109 i8x16.shr_u none : v128 i32 -> v128
fd:110 i8x16.add none : v128 v128 -> v128
fd:111 i8x16.add_sat_s none : v128 v128 -> v128
fd:112 i8x16.add_sat_u none : v128 v128 -> v128
fd:113 i8x16.sub none : v128 v128 -> v128
fd:114 i8x16.sub_sat_s none : v128 v128 -> v128
fd:115 i8x16.sub_sat_u none : v128 v128 -> v128
fd:116 f64x2.ceil none : v128 -> v128
fd:117 f64x2.floor none : v128 -> v128
fd:118 i8x16.min_s none : v128 v128 -> v128
fd:119 i8x16.min_u none : v128 v128 -> v128
fd:120 i8x16.max_s none : v128 v128 -> v128
fd:121 i8x16.max_u none : v128 v128 -> v128
fd:122 f64x2.trunc none : v128 -> v128
fd:123 i8x16.avgr_u none : v128 v128 -> v128
fd:124 i16x8.extadd_pairwise_i8x16_s none : v128 -> v128
fd:125 i16x8.extadd_pairwise_i8x16_u none : v128 -> v128
fd:126 i32x4.extadd_pairwise_i16x8_s none : v128 -> v128
fd:127 i32x4.extadd_pairwise_i16x8_u none : v128 -> v128
fd:128 i16x8.abs none : v128 -> v128
fd:129 i16x8.neg none : v128 -> v128
fd:130 i16x8.q15mulr_sat_s none : v128 v128 -> v128
fd:131 i16x8.all_true none : v128 -> i32
fd:132 i16x8.bitmask none : v128 -> i32
fd:133 i16x8.narrow_i32x4_s none : v128 v128 -> v128
fd:134 i16x8.narrow_i32x4_u none : v128 v128 -> v128
fd:135 i16x8.extend_low_i8x16_s none : v128 -> v128
fd:136 i16x8.extend_high_i8x16_s none : v128 -> v128
fd:137 i16x8.extend_low_i8x16_u none : v128 -> v128
fd:138 i16x8.extend_high_i8x16_u none : v128 -> v128
fd:139 i16x8.shl none : v128 i32 -> v128
fd:140 i16x8.shr_s none : v128 i32 -> v128
fd:141 i16x8.shr_u none : v128 i32 -> v128
fd:142 i16x8.add none : v128 v128 -> v128
fd:143 i16x8.add_sat_s none : v128 v128 -> v128
fd:144 i16x8.add_sat_u none : v128 v128 -> v128
fd:145 i16x8.sub none : v128 v128 -> v128
fd:146 i16x8.sub_sat_s none : v128 v128 -> v128
fd:147 i16x8.sub_sat_u none : v128 v128 -> v128
fd:148 f64x2.nearest none : v128 -> v128
fd:149 i16x8.mul none : v128 v128 -> v128
fd:150 i16x8.min_s none : v128 v128 -> v128
fd:151 i16x8.min_u none : v128 v128 -> v128
fd:152 i16x8.max_s none : v128 v128 -> v128
fd:153 i16x8.max_u none : v128 v128 -> v128
fd:155 i16x8.avgr_u none : v128 v128 -> v128
fd:156 i16x8.extmul_low_i8x16_s none : v128 v128 -> v128
fd:157 i16x8.extmul_high_i8x16_s none : v128 v128 -> v128
fd:158 i16x8.extmul_low_i8x16_u none : v128 v128 -> v128
fd:159 i16x8.extmul_high_i8x16_u none : v128 v128 -> v128
fd:160 i32x4.abs none : v128 -> v128
fd:161 i32x4.neg none : v128 -> v128
fd:163 i32x4.all_true none : v128 -> i32
fd:164 i32x4.bitmask none : v128 -> i32
fd:167 i32x4.extend_low_i16x8_s none : v128 -> v128
fd:168 i32x4.extend_high_i16x8_s none : v128 -> v128
fd:169 i32x4.extend_low_i16x8_u none : v128 -> v128
fd:170 i32x4.extend_high_i16x8_u none : v128 -> v128
fd:171 i32x4.shl none : v128 i32 -> v128
fd:172 i32x4.shr_s none : v128 i32 -> v128
fd:173 i32x4.shr_u none : v128 i32 -> v128
fd:174 i32x4.add none : v128 v128 -> v128
fd:177 i32x4.sub none : v128 v128 -> v128
fd:181 i32x4.mul none : v128 v128 -> v128
fd:182 i32x4.min_s none : v128 v128 -> v128
fd:183 i32x4.min_u none : v128 v128 -> v128
fd:184 i32x4.max_s none : v128 v128 -> v128
fd:185 i32x4.max_u none : v128 v128 -> v128
fd:186 i32x4.dot_i16x8_s none : v128 v128 -> v128
fd:188 i32x4.extmul_low_i16x8_s none : v128 v128 -> v128
fd:189 i32x4.extmul_high_i16x8_s none : v128 v128 -> v128
fd:190 i32x4.extmul_low_i16x8_u none : v128 v128 -> v128
fd:191 i32x4.extmul_high_i16x8_u none : v128 v128 -> v128
fd:192 i64x2.abs none : v128 -> v128
fd:193 i64x2.neg none : v128 -> v128
fd:195 i64x2.all_true none : v128 -> i32
fd:196 i64x2.bitmask none : v128 -> i32
fd:199 i64x2.extend_low_i32x4_s none : v128 -> v128
fd:200 i64x2.extend_high_i32x4_s none : v128 -> v128
fd:201 i64x2.extend_low_i32x4_u none : v128 -> v128
fd:202 i64x2.extend_high_i32x4_u none : v128 -> v128
fd:203 i64x2.shl none : v128 i32 -> v128
fd:204 i64x2.shr_s none : v128 i32 -> v128
fd:205 i64x2.shr_u none : v128 i32 -> v128
fd:206 i64x2.add none : v128 v128 -> v128
fd:209 i64x2.sub none : v128 v128 -> v128
fd:213 i64x2.mul none : v128 v128 -> v128
fd:214 i64x2.eq none : v128 v128 -> v128
fd:215 i64x2.ne none : v128 v128 -> v128
fd:216 i64x2.lt_s none : v128 v128 -> v128
fd:217 i64x2.gt_s none : v128 v128 -> v128
fd:218 i64x2.le_s none : v128 v128 -> v128
fd:219 i64x2.ge_s none : v128 v128 -> v128
fd:220 i64x2.extmul_low_i32x4_s none : v128 v128 -> v128
fd:221 i64x2.extmul_high_i32x4_s none : v128 v128 -> v128
fd:222 i64x2.extmul_low_i32x4_u none : v128 v128 -> v128
fd:223 i64x2.extmul_high_i32x4_u none : v128 v128 -> v128
fd:224 f32x4.abs none : v128 -> v128
fd:225 f32x4.neg none : v128 -> v128
fd:227 f32x4.sqrt none : v128 -> v128
fd:228 f32x4.add none : v128 v128 -> v128
fd:229 f32x4.sub none : v128 v128 -> v128
fd:230 f32x4.mul none : v128 v128 -> v128
fd:231 f32x4.div none : v128 v128 -> v128
fd:232 f32x4.min none : v128 v128 -> v128
fd:233 f32x4.max none : v128 v128 -> v128
fd:234 f32x4.pmin none : v128 v128 -> v128
fd:235 f32x4.pmax none : v128 v128 -> v128
fd:236 f64x2.abs none : v128 -> v128
fd:237 f64x2.neg none : v128 -> v128
fd:239 f64x2.sqrt none : v128 -> v128
fd:240 f64x2.add none : v128 v128 -> v128
fd:241 f64x2.sub none : v128 v128 -> v128
fd:242 f64x2.mul none : v128 v128 -> v128
fd:243 f64x2.div none : v128 v128 -> v128
fd:244 f64x2.min none : v128 v128 -> v128
fd:245 f64x2.max none : v128 v128 -> v128
fd:246 f64x2.pmin none : v128 v128 -> v128
fd:247 f64x2.pmax none : v128 v128 -> v128
fd:248 i32x4.trunc_sat_f32x4_s none : v128 -> v128
fd:249 i32x4.trunc_sat_f32x4_u none : v128 -> v128
fd:250 f32x4.convert_i32x4_s none : v128 -> v128
fd:251 f32x4.convert_i32x4_u none : v128 -> v128
fd:252 i32x4.trunc_sat_f64x2_s_zero none : v128 -> v128
fd:253 i32x4.trunc_sat_f64x2_u_zero none : v128 -> v128
fd:254 f64x2.convert_low_i32x4_s none : v128 -> v128
fd:255 f64x2.convert_low_i32x4_u none : v128 -> v128
"""
