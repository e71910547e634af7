/* Reliability of the C ABI in hostile process conditions (issue 13):
 *   1. thread-count control: hs_set_num_threads / hs_get_num_threads;
 *   2. fork(): after the parent used the pool, a child's large calls finish (within 10 s)
 *      with the parent's results, bit for bit;
 *   3. out of memory: under an address-space limit (setrlimit RLIMIT_AS, in a child), the
 *      multiclass loss returns HS_ERR_OUT_OF_MEMORY and leaves its outputs untouched, and
 *      calls that need no large buffer still succeed.
 * Prints one line per check and "N passed, M failed"; exits non-zero on any failure. */
#define _GNU_SOURCE
#include <hypersimplex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int passed, failed;
static void check(int ok, const char *what) {
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok) passed++; else failed++;
}

/* Deterministic data (xorshift). */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float unit(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (float)((rng * 0x2545f4914f6cdd1dull) >> 40) / (float)(1u << 24);
}

enum { N = (1 << 21) + 13, B = 65536, C = 10 };

/* The large calls of the fork test: forward, VJP and multiclass loss+gradient. */
static int large_calls(const float *x, const float *g, const float *logits, const uint32_t *labels,
                       float *y, float *gx, float *loss, float *grad) {
    int s = hs_soft_binary_argmax_f32(x, N, N * 0.3 + 0.5, 1.5f, y);
    if (s == 0) s = hs_soft_binary_argmax_vjp_f32(y, g, N, 1.5f, gx);
    if (s == 0) s = hs_hypersimplex_loss_multiclass_f32(logits, labels, B, C, NULL, 1.0f,
                                                        HS_REDUCTION_MEAN, loss, grad);
    return s;
}

static int child_status(pid_t pid) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

int main(void) {
    /* 1. thread count */
    size_t def = hs_get_num_threads();
    check(def >= 1, "hs_get_num_threads() >= 1 by default");
    check(hs_set_num_threads(3) == 0 && hs_get_num_threads() == 3, "hs_set_num_threads(3)");
    check(hs_set_num_threads(1) == 0 && hs_get_num_threads() == 1, "hs_set_num_threads(1)");
    check(hs_set_num_threads(0) == 0 && hs_get_num_threads() == def, "hs_set_num_threads(0) restores the default");

    float *x = malloc(sizeof(float) * N), *g = malloc(sizeof(float) * N);
    float *y = malloc(sizeof(float) * N), *gx = malloc(sizeof(float) * N);
    float *y2 = malloc(sizeof(float) * N), *gx2 = malloc(sizeof(float) * N);
    float *logits = malloc(sizeof(float) * B * C), *grad = malloc(sizeof(float) * B * C);
    float *grad2 = malloc(sizeof(float) * B * C);
    uint32_t *labels = malloc(sizeof(uint32_t) * B);
    if (!x || !g || !y || !gx || !y2 || !gx2 || !logits || !grad || !grad2 || !labels) return 2;
    for (size_t i = 0; i < N; i++) { x[i] = 6.0f * unit() - 3.0f; g[i] = unit() - 0.5f; }
    for (size_t i = 0; i < (size_t)B * C; i++) logits[i] = 4.0f * unit() - 2.0f;
    for (size_t i = 0; i < B; i++) labels[i] = (uint32_t)(unit() * C) % C;

    /* 2. fork after the pool ran */
    hs_set_num_threads(2);
    float loss = 0, loss2 = 0;
    check(large_calls(x, g, logits, labels, y, gx, &loss, grad) == 0, "parent: large calls on a pool of 2");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10); /* a deadlock ends the child with SIGALRM */
        int s = large_calls(x, g, logits, labels, y2, gx2, &loss2, grad2);
        int same = s == 0 && !memcmp(y, y2, sizeof(float) * N) && !memcmp(gx, gx2, sizeof(float) * N) &&
                   !memcmp(grad, grad2, sizeof(float) * B * C) && !memcmp(&loss, &loss2, sizeof loss);
        _exit(same ? 0 : 3);
    }
    int st = child_status(pid);
    if (st != 0) printf("  child exit status %d (%s)\n", st, st == 128 + SIGALRM ? "timed out: deadlock" : "wrong result");
    check(st == 0, "child after fork: large forward, VJP and multiclass calls finish with the parent's results");

    /* 3. out of memory, in a child under an address-space limit */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        /* Room for what the process maps now plus 24 MiB: the multiclass loss would need
           B*C floats (2.6 MB) here, so use a larger batch whose transposed copy cannot fit. */
        enum { BB = 1 << 22, CC = 8 }; /* 32M floats: 128 MiB per buffer */
        float *lg = malloc(sizeof(float) * (size_t)BB * CC), *gr = malloc(sizeof(float) * (size_t)BB * CC);
        uint32_t *lb = malloc(sizeof(uint32_t) * BB);
        double *kk = malloc(sizeof(double) * BB);
        if (!lg || !gr || !lb || !kk) _exit(4);
        for (size_t i = 0; i < BB; i++) kk[i] = 3.0;
        for (size_t i = 0; i < (size_t)BB * CC; i++) { lg[i] = (float)(i % 97) * 0.01f; gr[i] = 7.0f; }
        for (size_t i = 0; i < BB; i++) lb[i] = (uint32_t)(i % CC);
        long pages = 0, resident = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) _exit(5);
        fclose(f);
        struct rlimit rl;
        rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (24u << 20);
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(6);
        float l = 42.0f;
        int s = hs_hypersimplex_loss_multiclass_f32(lg, lb, BB, CC, NULL, 1.0f, HS_REDUCTION_SUM, &l, gr);
        int untouched = l == 42.0f;
        for (size_t i = 0; i < (size_t)BB * CC && untouched; i++) untouched = gr[i] == 7.0f;
        if (s != HS_ERR_OUT_OF_MEMORY) { printf("  status %d (%s)\n", s, hs_status_message(s)); _exit(7); }
        if (!untouched) _exit(8);
        /* A forward pass over the same data needs no large buffer: it still works. */
        s = hs_soft_binary_argmax_rows_f32(lg, BB, CC, kk, 1.0f, gr);
        _exit(s == 0 ? 0 : 9);
    }
    st = child_status(pid);
    if (st != 0) printf("  child exit status %d\n", st);
    check(st == 0, "under RLIMIT_AS: multiclass returns HS_ERR_OUT_OF_MEMORY with outputs untouched; rows forward still succeeds");

    printf("%d passed, %d failed\n", passed, failed);
    free(x); free(g); free(y); free(gx); free(y2); free(gx2); free(logits); free(grad); free(grad2); free(labels);
    return failed != 0;
}
