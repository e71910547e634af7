/* One thread against two through the C ABI, per kind of call: the measurements behind
 * `pool::Work` (simd/src/pool.rs), which picks the calls that go to the library's pool.
 *
 *   cargo build --release -p hypersimplex-ffi
 *   gcc -O2 -Iinclude benches/c/threads.c -Ltarget/release -lhypersimplex \
 *       -Wl,-rpath,$PWD/target/release -o target/threads && target/threads
 *
 * Prints, for batches (rows x n) and single vectors (n), the median time of the forward and the
 * VJP on 1 and on 2 threads (hs_set_num_threads) and their ratio. Uniform logits in (-1.7, 1.7),
 * tau = 1.5, k = n/2. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hypersimplex.h"

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* rows == 0: one vector of n through the single-vector functions */
static void shape(size_t rows, size_t n) {
    size_t total = (rows ? rows : 1) * n, r = rows ? rows : 1;
    float *x = malloc(total * 4), *y = malloc(total * 4), *g = malloc(total * 4), *o = malloc(total * 4);
    double *k = malloc(r * sizeof(double));
    double med[2][2];
    srand(1);
    for (size_t i = 0; i < total; i++) {
        x[i] = (float)(((double)rand() / RAND_MAX - 0.5) * 3.4);
        g[i] = (float)rand() / RAND_MAX - 0.5f;
    }
    for (size_t i = 0; i < r; i++) k[i] = n / 2;
    for (int t = 1; t <= 2; t++) {
        int reps = (int)(2e7 / total) + 20;
        if (reps > 3000) reps = 3000;
        double *tf = malloc(reps * sizeof(double)), *tv = malloc(reps * sizeof(double));
        hs_set_num_threads(t);
        for (int q = -1; q < reps; q++) {
            double a = now_ns();
            if (rows) hs_soft_binary_argmax_rows_f32(x, rows, n, k, 1.5f, y);
            else hs_soft_binary_argmax_f32(x, n, n / 2, 1.5f, y);
            double b = now_ns();
            if (rows) hs_soft_binary_argmax_vjp_rows_f32(y, g, rows, n, 1.5f, o);
            else hs_soft_binary_argmax_vjp_f32(y, g, n, 1.5f, o);
            double c = now_ns();
            if (q >= 0) tf[q] = b - a, tv[q] = c - b;
        }
        qsort(tf, reps, sizeof(double), cmp);
        qsort(tv, reps, sizeof(double), cmp);
        med[t - 1][0] = tf[reps / 2] / 1e3;
        med[t - 1][1] = tv[reps / 2] / 1e3;
        free(tf);
        free(tv);
    }
    if (rows) printf("%6zu x %-6zu", rows, n);
    else printf("vector %-8zu", n);
    printf(" forward %8.1f / %8.1f us (%.2fx)   vjp %8.1f / %8.1f us (%.2fx)\n", med[0][0],
           med[1][0], med[0][0] / med[1][0], med[0][1], med[1][1], med[0][1] / med[1][1]);
    free(x), free(y), free(g), free(o), free(k);
}

int main(void) {
    size_t batches[][2] = {{2, 8192}, {4, 8192}, {10, 8192}, {40, 8192}, {2048, 10},
                           {4096, 10}, {8192, 10}, {32768, 10}, {512, 64}, {1024, 64},
                           {4096, 64}};
    size_t vectors[] = {16384, 65536, 262144, 524288, 1u << 20, 1u << 21, 10000000};
    printf("hypersimplex %s: 1 thread / 2 threads, medians\n", hs_version());
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) shape(batches[i][0], batches[i][1]);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) shape(0, vectors[i]);
    return 0;
}
