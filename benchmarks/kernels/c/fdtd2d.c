/* fdtd-2d: 2-D finite-difference time-domain kernel, 40 steps over n x n fields ex, ey, hz. */
#include "kernel.h"
#define NMAX 600
#define STEPS 40
static double ex[NMAX][NMAX], ey[NMAX][NMAX], hz[NMAX][NMAX], fict[STEPS];

EXPORT("run") u64 run(int n) {
    for (int t = 0; t < STEPS; t++) fict[t] = (double)t;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            ex[i][j] = ((double)i * (j + 1)) / n;
            ey[i][j] = ((double)i * (j + 2)) / n;
            hz[i][j] = ((double)i * (j + 3)) / n;
        }
    for (int t = 0; t < STEPS; t++) {
        for (int j = 0; j < n; j++) ey[0][j] = fict[t];
        for (int i = 1; i < n; i++)
            for (int j = 0; j < n; j++) ey[i][j] = ey[i][j] - 0.5 * (hz[i][j] - hz[i - 1][j]);
        for (int i = 0; i < n; i++)
            for (int j = 1; j < n; j++) ex[i][j] = ex[i][j] - 0.5 * (hz[i][j] - hz[i][j - 1]);
        for (int i = 0; i < n - 1; i++)
            for (int j = 0; j < n - 1; j++)
                hz[i][j] = hz[i][j] - 0.7 * (ex[i][j + 1] - ex[i][j] + ey[i + 1][j] - ey[i][j]);
    }
    return checksum(&hz[0][0], NMAX * NMAX) ^ checksum(&ex[0][0], NMAX * NMAX);
}
