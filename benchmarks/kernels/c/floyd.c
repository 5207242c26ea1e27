/* floyd-warshall: all-pairs shortest paths over an n-node graph of i32 weights. */
#include "kernel.h"
#define NMAX 400
static int path[NMAX][NMAX];

EXPORT("run") u64 run(int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            path[i][j] = i * j % 7 + 1;
            if ((i + j) % 13 == 0 || (i + j) % 7 == 0 || (i + j) % 11 == 0) path[i][j] = 999;
        }
    for (int k = 0; k < n; k++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                path[i][j] = path[i][j] < path[i][k] + path[k][j] ? path[i][j]
                                                                   : path[i][k] + path[k][j];
    u64 h = 1469598103934665603ull;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) h = (h ^ (unsigned)path[i][j]) * 1099511628211ull;
    return h;
}
