/* jacobi-2d: 5-point stencil, 40 time steps over an n x n grid (two arrays, PolyBench's order). */
#include "kernel.h"
#define NMAX 720
#define STEPS 40
static double A[NMAX][NMAX], B[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            A[i][j] = ((double)i * (j + 2) + 2) / n;
            B[i][j] = ((double)i * (j + 3) + 3) / n;
        }
    for (int t = 0; t < STEPS; t++) {
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                B[i][j] = 0.2 * (A[i][j] + A[i][j - 1] + A[i][j + 1] + A[i + 1][j] + A[i - 1][j]);
        for (int i = 1; i < n - 1; i++)
            for (int j = 1; j < n - 1; j++)
                A[i][j] = 0.2 * (B[i][j] + B[i][j - 1] + B[i][j + 1] + B[i + 1][j] + B[i - 1][j]);
    }
    return checksum(&A[0][0], NMAX * NMAX);
}
