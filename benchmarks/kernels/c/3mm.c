/* 3mm: E = A * B; F = C * D; G = E * F (n x n doubles). */
#include "kernel.h"
#define NMAX 260
static double A[NMAX][NMAX], B[NMAX][NMAX], C[NMAX][NMAX], D[NMAX][NMAX];
static double E[NMAX][NMAX], F[NMAX][NMAX], G[NMAX][NMAX];

static void mm(int n, double (*x)[NMAX], double (*y)[NMAX], double (*out)[NMAX]) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += x[i][k] * y[k][j];
            out[i][j] = s;
        }
}

EXPORT("run") u64 run(int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = (double)((i * j + 1) % n) / (5 * n);
            B[i][j] = (double)((i * (j + 1) + 2) % n) / (5 * n);
            C[i][j] = (double)(i * (j + 3) % n) / (5 * n);
            D[i][j] = (double)((i * (j + 2) + 2) % n) / (5 * n);
        }
    mm(n, A, B, E);
    mm(n, C, D, F);
    mm(n, E, F, G);
    return checksum(&G[0][0], NMAX * NMAX);
}
