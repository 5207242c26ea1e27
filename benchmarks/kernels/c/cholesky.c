/* cholesky: in-place Cholesky factorisation of a symmetric positive-definite n x n matrix. */
#include "kernel.h"
#define NMAX 640
static double A[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    /* symmetric and strictly diagonally dominant, so positive definite */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            A[i][j] = i == j ? (double)n + 1.0 : 1.0 / (double)(1 + i + j);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            for (int k = 0; k < j; k++) A[i][j] -= A[i][k] * A[j][k];
            A[i][j] /= A[j][j];
        }
        for (int k = 0; k < i; k++) A[i][i] -= A[i][k] * A[i][k];
        A[i][i] = __builtin_sqrt(A[i][i]);
    }
    return checksum(&A[0][0], NMAX * NMAX);
}
