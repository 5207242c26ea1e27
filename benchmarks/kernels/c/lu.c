/* lu: in-place LU decomposition (Doolittle, no pivoting) of a diagonally dominant n x n matrix. */
#include "kernel.h"
#define NMAX 520
static double A[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            A[i][j] = i == j ? (double)n + 1.0 : (double)((i * 3 + j * 5) % n) / (2.0 * n);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < i; j++) {
            for (int k = 0; k < j; k++) A[i][j] -= A[i][k] * A[k][j];
            A[i][j] /= A[j][j];
        }
        for (int j = i; j < n; j++)
            for (int k = 0; k < i; k++) A[i][j] -= A[i][k] * A[k][j];
    }
    return checksum(&A[0][0], NMAX * NMAX);
}
