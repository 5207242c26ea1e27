/* gemm: C = alpha * A * B + beta * C, n x n doubles (the PolyBench kernel's loop order). */
#include "kernel.h"
#define NMAX 400
static double A[NMAX][NMAX], B[NMAX][NMAX], C[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    double alpha = 1.5, beta = 1.2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = (double)((i * j + 1) % n) / n;
            B[i][j] = (double)((i * (j + 1) + 2) % n) / n;
            C[i][j] = (double)((i * (j + 2) + 3) % n) / n;
        }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) C[i][j] *= beta;
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++) C[i][j] += alpha * A[i][k] * B[k][j];
    }
    return checksum(&C[0][0], NMAX * NMAX);
}
