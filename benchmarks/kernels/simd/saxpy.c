/* SIMD kernel: f32x4 saxpy and dot product. y = a*x + y over 4096 floats, then the dot
   product of x and y, n passes with a different a each pass; the checksum mixes the bits of
   every dot product. */
#include <stdint.h>
#include <wasm_simd128.h>

#define LEN 4096
static float xs[LEN] __attribute__((aligned(16)));
static float ys[LEN] __attribute__((aligned(16)));

__attribute__((export_name("run"))) uint64_t run(int32_t n) {
    for (int i = 0; i < LEN; i++) {
        xs[i] = (float)(i % 17) * 0.25f - 2.0f;
        ys[i] = (float)(i % 5) * 0.5f;
    }
    uint64_t sum = 0;
    for (int32_t p = 0; p < n; p++) {
        v128_t a = wasm_f32x4_splat(0.001f * (float)(p % 13) - 0.006f);
        v128_t dot = wasm_f32x4_splat(0.0f);
        for (int i = 0; i < LEN; i += 4) {
            v128_t x = wasm_v128_load(xs + i);
            v128_t y = wasm_f32x4_add(wasm_f32x4_mul(a, x), wasm_v128_load(ys + i));
            wasm_v128_store(ys + i, y);
            dot = wasm_f32x4_add(dot, wasm_f32x4_mul(x, y));
        }
        float d = wasm_f32x4_extract_lane(dot, 0) + wasm_f32x4_extract_lane(dot, 1) +
                  wasm_f32x4_extract_lane(dot, 2) + wasm_f32x4_extract_lane(dot, 3);
        union { float f; uint32_t u; } bits = { d };
        sum = sum * 1000003u + bits.u;
    }
    return sum;
}
