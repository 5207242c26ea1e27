/* 2mm: D = alpha * A * B * C + beta * D (tmp = alpha * A * B; D = tmp * C + beta * D). */
#include "kernel.h"
#define NMAX 300
static double A[NMAX][NMAX], B[NMAX][NMAX], C[NMAX][NMAX], D[NMAX][NMAX], T[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    double alpha = 1.5, beta = 1.2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = (double)((i * j + 1) % n) / n;
            B[i][j] = (double)(i * (j + 1) % n) / n;
            C[i][j] = (double)((i * (j + 3) + 1) % n) / n;
            D[i][j] = (double)(i * (j + 2) % n) / n;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int k = 0; k < n; k++) s += alpha * A[i][k] * B[k][j];
            T[i][j] = s;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = D[i][j] * beta;
            for (int k = 0; k < n; k++) s += T[i][k] * C[k][j];
            D[i][j] = s;
        }
    return checksum(&D[0][0], NMAX * NMAX);
}
