/* SIMD kernel: memchr-like scan. Count the bytes equal to a needle in a 64 KiB buffer of
   pseudo-random bytes, n passes, a different needle each pass (i8x16.eq, subtract the mask
   as a per-lane counter, widen with extadd_pairwise every 255 blocks). */
#include <stdint.h>
#include <wasm_simd128.h>

#define SIZE 65536
static uint8_t buf[SIZE] __attribute__((aligned(16)));

static void fill(void) {
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < SIZE; i += 8) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        for (int k = 0; k < 8; k++) buf[i + k] = (uint8_t)(x >> (8 * k));
    }
}

static uint32_t count(uint8_t needle) {
    v128_t want = wasm_i8x16_splat((int8_t)needle);
    v128_t total = wasm_i32x4_splat(0);
    for (int block = 0; block < SIZE; block += 16 * 255) {
        v128_t acc = wasm_i8x16_splat(0);
        int end = block + 16 * 255 < SIZE ? block + 16 * 255 : SIZE;
        for (int i = block; i < end; i += 16) {
            v128_t v = wasm_v128_load(buf + i);
            acc = wasm_i8x16_sub(acc, wasm_i8x16_eq(v, want));
        }
        total = wasm_i32x4_add(total,
            wasm_u32x4_extadd_pairwise_u16x8(wasm_u16x8_extadd_pairwise_u8x16(acc)));
    }
    return wasm_i32x4_extract_lane(total, 0) + wasm_i32x4_extract_lane(total, 1) +
           wasm_i32x4_extract_lane(total, 2) + wasm_i32x4_extract_lane(total, 3);
}

__attribute__((export_name("run"))) uint64_t run(int32_t n) {
    fill();
    uint64_t sum = 0;
    for (int32_t p = 0; p < n; p++) sum = sum * 31 + count((uint8_t)(p * 7 + 1));
    return sum;
}
