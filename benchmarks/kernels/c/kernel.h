/* Shared by the loop-nest kernels: the export and the checksum of an f64 array. */
#ifndef KERNEL_H
#define KERNEL_H

typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(name)))

/* The bits of a double, so a checksum compares exactly across runtimes. */
static inline u64 bits(double x) { u64 u; __builtin_memcpy(&u, &x, 8); return u; }

/* Sum of an f64 array mixed with its positions, as a 64-bit checksum. */
static u64 checksum(const double *a, int count) {
    double s = 0.0, w = 0.0;
    for (int i = 0; i < count; i++) { s += a[i]; w += a[i] * (double)(i % 7 + 1); }
    return bits(s) ^ (bits(w) * 0x9E3779B97F4A7C15ull);
}

#endif
