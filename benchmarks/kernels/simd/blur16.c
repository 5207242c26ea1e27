/* SIMD kernel: i16x8 image filter. A 3x3 [1 2 1] x [1 2 1] / 16 blur of a 128 x 128 8-bit
   image, widened to i16x8 (extend_low/high), added, shifted and narrowed back with
   saturation; n passes ping-pong between two images; the checksum is an FNV-1a of the last. */
#include <stdint.h>
#include <wasm_simd128.h>

#define W 128
#define H 128
static uint8_t img[2][H][W] __attribute__((aligned(16)));

static v128_t row3(const uint8_t *r, int x, int high) {
    /* [1 2 1] horizontally at x..x+7 (low) or x+8..x+15 (high), as i16x8 */
    v128_t l = wasm_v128_load(r + x - 1), c = wasm_v128_load(r + x), rr = wasm_v128_load(r + x + 1);
    v128_t wl = high ? wasm_u16x8_extend_high_u8x16(l) : wasm_u16x8_extend_low_u8x16(l);
    v128_t wc = high ? wasm_u16x8_extend_high_u8x16(c) : wasm_u16x8_extend_low_u8x16(c);
    v128_t wr = high ? wasm_u16x8_extend_high_u8x16(rr) : wasm_u16x8_extend_low_u8x16(rr);
    return wasm_i16x8_add(wasm_i16x8_add(wl, wr), wasm_i16x8_shl(wc, 1));
}

__attribute__((export_name("run"))) uint64_t run(int32_t n) {
    uint32_t s = 12345;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            s = s * 1103515245u + 12345u;
            img[0][y][x] = (uint8_t)(s >> 16);
            img[1][y][x] = 0;
        }
    int src = 0;
    for (int32_t p = 0; p < n; p++) {
        int dst = src ^ 1;
        for (int y = 1; y < H - 1; y++)
            for (int x = 16; x < W - 16; x += 16) {
                v128_t lo = wasm_i16x8_add(wasm_i16x8_add(row3(img[src][y - 1], x, 0),
                                                          row3(img[src][y + 1], x, 0)),
                                           wasm_i16x8_shl(row3(img[src][y], x, 0), 1));
                v128_t hi = wasm_i16x8_add(wasm_i16x8_add(row3(img[src][y - 1], x, 1),
                                                          row3(img[src][y + 1], x, 1)),
                                           wasm_i16x8_shl(row3(img[src][y], x, 1), 1));
                lo = wasm_u16x8_shr(wasm_i16x8_add(lo, wasm_i16x8_splat(8)), 4);
                hi = wasm_u16x8_shr(wasm_i16x8_add(hi, wasm_i16x8_splat(8)), 4);
                wasm_v128_store(&img[dst][y][x], wasm_u8x16_narrow_i16x8(lo, hi));
            }
        src = dst;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) h = (h ^ img[src][y][x]) * 0x100000001b3ull;
    return h;
}
