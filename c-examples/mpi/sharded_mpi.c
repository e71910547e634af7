/* Sharded projection through MPI (issue 16): one global batch split over the ranks of
 * MPI_COMM_WORLD, projected with hs_*_sharded_* and an MPI_Allreduce callback, against the
 * unsharded function on the whole batch (every rank computes it: the data come from one seed).
 *
 *   mpirun -n P ./sharded_mpi          checks; exit status 0 when every check passes
 *   mpirun -n P ./sharded_mpi --time B C REPS
 *                                      time per call of the sharded multiclass loss (f32, with
 *                                      gradient) on a B x C global batch, and allreduce counts
 */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypersimplex.h"

typedef struct {
    MPI_Comm comm;
    int calls;   /* allreduce calls made */
    int fail_at; /* 0: never fail; else fail (without communicating) at this call */
} Ctx;

static int32_t mpi_sum(int64_t *values, size_t len, void *ctx) {
    Ctx *c = (Ctx *)ctx;
    c->calls++;
    if (c->fail_at && c->calls >= c->fail_at) return -1;
    return MPI_Allreduce(MPI_IN_PLACE, values, (int)len, MPI_INT64_T, MPI_SUM, c->comm) ==
                   MPI_SUCCESS
               ? 0
               : -1;
}

/* Negative control: a "reduction" that only sees this rank's shard. */
static int32_t local_only(int64_t *values, size_t len, void *ctx) {
    (void)values; (void)len; (void)ctx;
    return 0;
}

static uint64_t rng_state;
static double uniform(void) { /* in [-3, 3) */
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 6.0 - 3.0;
}

static int rank, size, failures;

static void check(int ok, const char *what) {
    if (!ok) {
        failures++;
        fprintf(stderr, "rank %d/%d: FAIL: %s\n", rank, size, what);
    }
}

/* This rank's rows of `n` global rows: uneven on purpose, rank 0 empty when size >= 3. */
static void my_rows(size_t n, size_t *lo, size_t *hi) {
    size_t cut[65];
    for (int r = 0; r <= size; r++) cut[r] = n * (size_t)r / (size_t)size;
    if (size >= 3) cut[1] = 0;
    *lo = cut[rank];
    *hi = cut[rank + 1];
}

static double maxdiff_f(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}
static double maxdiff_d(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* All ranks must hold the same bits in `v`. */
static int same_everywhere(const void *v, size_t bytes) {
    uint64_t mine = 0, lo, hi;
    memcpy(&mine, v, bytes);
    MPI_Allreduce(&mine, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

static void test_forward_vjp(size_t n, double k, double tau) {
    size_t lo, hi;
    my_rows(n, &lo, &hi);
    size_t m = hi - lo;
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *y = malloc(n * sizeof *y),
           *gx = malloc(n * sizeof *gx), *ys = malloc((m + 1) * sizeof *ys),
           *gs = malloc((m + 1) * sizeof *gs);
    float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf), *gf = malloc(n * sizeof *gf),
          *gxf = malloc(n * sizeof *gxf), *ysf = malloc((m + 1) * sizeof *ysf),
          *gsf = malloc((m + 1) * sizeof *gsf);
    rng_state = n;
    for (size_t i = 0; i < n; i++) {
        x[i] = uniform();
        g[i] = uniform();
        xf[i] = (float)x[i];
        gf[i] = (float)g[i];
    }
    Ctx ctx = {MPI_COMM_WORLD, 0, 0};
    /* f64 */
    check(hs_soft_binary_argmax_f64(x, n, k, tau, y) == HS_OK, "unsharded forward f64");
    check(hs_soft_binary_argmax_vjp_f64(y, g, n, tau, gx) == HS_OK, "unsharded vjp f64");
    check(hs_soft_binary_argmax_sharded_f64(x + lo, m, k, tau, mpi_sum, &ctx, ys) == HS_OK,
          "sharded forward f64");
    check(maxdiff_d(ys, y + lo, m) <= 1e-12, "sharded forward f64 = unsharded");
    int fwd_calls = ctx.calls;
    ctx.calls = 0;
    check(hs_soft_binary_argmax_vjp_sharded_f64(ys, g + lo, m, tau, mpi_sum, &ctx, gs) == HS_OK,
          "sharded vjp f64");
    check(maxdiff_d(gs, gx + lo, m) <= 1e-10 / tau, "sharded vjp f64 = unsharded");
    check(ctx.calls == (k > 0 && k < (double)n ? 2 : 1), "vjp: 2 allreduce calls (1 without a free set)");
    check(same_everywhere(&fwd_calls, sizeof fwd_calls), "same allreduce count on every rank");
    /* f32 */
    ctx.calls = 0;
    check(hs_soft_binary_argmax_f32(xf, n, k, (float)tau, yf) == HS_OK, "unsharded forward f32");
    check(hs_soft_binary_argmax_vjp_f32(yf, gf, n, (float)tau, gxf) == HS_OK, "unsharded vjp f32");
    check(hs_soft_binary_argmax_sharded_f32(xf + lo, m, k, (float)tau, mpi_sum, &ctx, ysf) == HS_OK,
          "sharded forward f32");
    check(maxdiff_f(ysf, yf + lo, m) <= 4e-6, "sharded forward f32 = unsharded");
    check(hs_soft_binary_argmax_vjp_sharded_f32(ysf, gf + lo, m, (float)tau, mpi_sum, &ctx, gsf) ==
              HS_OK,
          "sharded vjp f32");
    /* the VJP at a slightly different y may see another free set: compare at the same y */
    check(hs_soft_binary_argmax_vjp_f32(yf, gf, n, (float)tau, gxf) == HS_OK, "vjp f32 at y");
    {
        float *gs2 = malloc((m + 1) * sizeof *gs2);
        check(hs_soft_binary_argmax_vjp_sharded_f32(yf + lo, gf + lo, m, (float)tau, mpi_sum, &ctx,
                                                    gs2) == HS_OK,
              "sharded vjp f32 at the unsharded y");
        check(maxdiff_f(gs2, gxf + lo, m) <= 1e-5 / tau, "sharded vjp f32 = unsharded");
        free(gs2);
    }
    if (rank == 0) printf("forward n=%zu k=%g: %d allreduce calls (f64)\n", n, k, fwd_calls);

    /* Negative control: without the reduction (each rank projects its own shard) the result
       differs from the global projection on some rank (or k is out of range there). */
    if (size >= 2 && k > 0 && k < (double)n) {
        int differs = 0, any = 0;
        int s = hs_soft_binary_argmax_sharded_f64(x + lo, m, k, tau, local_only, NULL, ys);
        differs = s != HS_OK || maxdiff_d(ys, y + lo, m) > 1e-6;
        MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        check(any, "negative control: a local-only reduction is detected");
    }
    free(x); free(g); free(y); free(gx); free(ys); free(gs);
    free(xf); free(yf); free(gf); free(gxf); free(ysf); free(gsf);
}

static void test_multiclass(size_t b, size_t c, int reduction, int given_k) {
    size_t lo, hi;
    my_rows(b, &lo, &hi);
    size_t m = hi - lo;
    double *x = malloc(b * c * sizeof *x), *g = malloc(b * c * sizeof *g),
           *gs = malloc((m * c + 1) * sizeof *gs), *k = malloc(c * sizeof *k);
    float *xf = malloc(b * c * sizeof *xf), *gf = malloc(b * c * sizeof *gf),
          *gsf = malloc((m * c + 1) * sizeof *gsf);
    uint32_t *lab = malloc(b * sizeof *lab);
    rng_state = 1000 + b;
    for (size_t i = 0; i < b * c; i++) {
        x[i] = uniform();
        xf[i] = (float)x[i];
    }
    for (size_t i = 0; i < b; i++) lab[i] = (uint32_t)((uniform() + 3.0) / 6.0 * (double)c) % c;
    for (size_t j = 0; j < c; j++) k[j] = (double)b / (double)c + 0.25 * (double)j;
    const double *kp = given_k ? k : NULL;
    double l = 0, ls = 0;
    float lf = 0, lsf = 0;
    Ctx ctx = {MPI_COMM_WORLD, 0, 0};
    check(hs_hypersimplex_loss_multiclass_f64(x, lab, b, c, kp, 0.5, reduction, &l, g) == HS_OK,
          "unsharded multiclass f64");
    check(hs_hypersimplex_loss_multiclass_sharded_f64(x + lo * c, lab + lo, m, c, kp, 0.5, reduction,
                                                      mpi_sum, &ctx, &ls, gs) == HS_OK,
          "sharded multiclass f64");
    check(fabs(l - ls) <= 1e-12 * fmax(1.0, fabs(l)), "sharded loss f64 = unsharded");
    check(maxdiff_d(gs, g + lo * c, m * c) <= 1e-12, "sharded gradient f64 = unsharded");
    check(same_everywhere(&ls, sizeof ls), "loss f64 bitwise equal on every rank");
    int calls = ctx.calls;
    check(hs_hypersimplex_loss_multiclass_f32(xf, lab, b, c, kp, 0.5f, reduction, &lf, gf) == HS_OK,
          "unsharded multiclass f32");
    check(hs_hypersimplex_loss_multiclass_sharded_f32(xf + lo * c, lab + lo, m, c, kp, 0.5f,
                                                      reduction, mpi_sum, &ctx, &lsf, gsf) == HS_OK,
          "sharded multiclass f32");
    check(fabs((double)lf - (double)lsf) <= 1e-5 * fmax(1.0, fabs((double)lf)),
          "sharded loss f32 = unsharded");
    check(maxdiff_f(gsf, gf + lo * c, m * c) <= 1e-5 * (reduction == HS_REDUCTION_SUM ? 2.0 : 1.0),
          "sharded gradient f32 = unsharded");
    check(same_everywhere(&lsf, sizeof lsf), "loss f32 bitwise equal on every rank");
    if (rank == 0)
        printf("multiclass %zu x %zu (%s, k %s): %d allreduce calls (f64), loss %.17g\n", b, c,
               reduction == HS_REDUCTION_SUM ? "sum" : "mean", given_k ? "given" : "label counts",
               calls, ls);
    free(x); free(g); free(gs); free(k); free(xf); free(gf); free(gsf); free(lab);
}

#define SENT (-12345.0f)

static int all_sentinel(const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (v[i] != SENT) return 0;
    return 1;
}

static void test_errors(void) {
    float x[3] = {0.5f, 1.0f, -1.0f}, y[3], g[6], loss;
    float logits[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    uint32_t lab[3] = {0, 1, 0};
    for (int i = 0; i < 3; i++) y[i] = SENT;
    for (int i = 0; i < 6; i++) g[i] = SENT;
    loss = SENT;
    int s;
    /* the callback fails on every rank at its second call */
    Ctx fail = {MPI_COMM_WORLD, 0, 2};
    s = hs_soft_binary_argmax_sharded_f32(x, 3, 1.5, 1.0f, mpi_sum, &fail, y);
    check(s == HS_ERR_COLLECTIVE && all_sentinel(y, 3), "forward: failing callback");
    check(same_everywhere(&s, sizeof s), "forward: failing callback, same status");
    fail.calls = 0;
    s = hs_soft_binary_argmax_vjp_sharded_f32(x, x, 3, 1.0f, mpi_sum, &fail, y);
    check(s == HS_ERR_COLLECTIVE && all_sentinel(y, 3), "vjp: failing callback");
    fail.calls = 0;
    s = hs_hypersimplex_loss_multiclass_sharded_f32(logits, lab, 3, 2, NULL, 1.0f, HS_REDUCTION_SUM,
                                                    mpi_sum, &fail, &loss, g);
    check(s == HS_ERR_COLLECTIVE && all_sentinel(g, 6) && loss == SENT,
          "multiclass: failing callback");
    check(same_everywhere(&s, sizeof s), "multiclass: failing callback, same status");
    Ctx ok = {MPI_COMM_WORLD, 0, 0};
    if (size >= 2) {
        /* k differs on rank 0 */
        s = hs_soft_binary_argmax_sharded_f32(x, 3, rank == 0 ? 1.0 : 1.5, 1.0f, mpi_sum, &ok, y);
        check(s == HS_ERR_COLLECTIVE && all_sentinel(y, 3), "forward: mismatched k");
        /* reduction differs on the last rank */
        s = hs_hypersimplex_loss_multiclass_sharded_f32(
            logits, lab, 3, 2, NULL, 1.0f, rank == size - 1 ? HS_REDUCTION_MEAN : HS_REDUCTION_SUM,
            mpi_sum, &ok, &loss, g);
        check(s == HS_ERR_COLLECTIVE && all_sentinel(g, 6) && loss == SENT,
              "multiclass: mismatched reduction");
    }
    /* NaN on the last rank only */
    float xn[3] = {0.5f, rank == size - 1 ? NAN : 1.0f, -1.0f};
    s = hs_soft_binary_argmax_sharded_f32(xn, 3, 1.5, 1.0f, mpi_sum, &ok, y);
    check(s == HS_ERR_NON_FINITE_INPUT && all_sentinel(y, 3), "forward: NaN on one rank");
    /* a bad label on rank 0 only */
    uint32_t bad[3] = {0, rank == 0 ? 7u : 1u, 0};
    s = hs_hypersimplex_loss_multiclass_sharded_f32(logits, bad, 3, 2, NULL, 1.0f, HS_REDUCTION_SUM,
                                                    mpi_sum, &ok, &loss, g);
    check(s == HS_ERR_LABEL_OUT_OF_RANGE && all_sentinel(g, 6) && loss == SENT,
          "multiclass: bad label on one rank");
    /* k above the global batch size */
    s = hs_soft_binary_argmax_sharded_f32(x, 3, 3.0 * size + 0.5, 1.0f, mpi_sum, &ok, y);
    check(s == HS_ERR_INVALID_K && all_sentinel(y, 3), "forward: k > global n");
}

static int timing(size_t b, size_t c, int reps) {
    size_t lo, hi;
    my_rows(b, &lo, &hi);
    size_t m = hi - lo;
    float *x = malloc((m * c + 1) * sizeof *x), *g = malloc((m * c + 1) * sizeof *g), loss;
    uint32_t *lab = malloc((m + 1) * sizeof *lab);
    rng_state = 7;
    for (size_t i = 0; i < b; i++) {
        for (size_t j = 0; j < c; j++) {
            float v = (float)uniform();
            if (i >= lo && i < hi) x[(i - lo) * c + j] = v;
        }
        uint32_t l = (uint32_t)((uniform() + 3.0) / 6.0 * (double)c) % c;
        if (i >= lo && i < hi) lab[i - lo] = l;
    }
    Ctx ctx = {MPI_COMM_WORLD, 0, 0};
    int st = 0, lat_reps = 1000;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++)
        st |= hs_hypersimplex_loss_multiclass_sharded_f32(x, lab, m, c, NULL, 0.5f,
                                                          HS_REDUCTION_MEAN, mpi_sum, &ctx, &loss, g);
    double t = (MPI_Wtime() - t0) / reps;
    int calls = ctx.calls / reps;
    /* forward alone, one vector of b*c elements */
    ctx.calls = 0;
    float *y = malloc((m * c + 1) * sizeof *y);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int r = 0; r < reps; r++)
        st |= hs_soft_binary_argmax_sharded_f32(x, m * c, 0.1 * (double)(b * c), 0.5f, mpi_sum,
                                                &ctx, y);
    double tf = (MPI_Wtime() - t0) / reps;
    int fcalls = ctx.calls / reps;
    /* one 16-value allreduce: the latency unit of the cost model */
    int64_t v[16] = {0};
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int r = 0; r < lat_reps; r++) MPI_Allreduce(MPI_IN_PLACE, v, 16, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    double lat = (MPI_Wtime() - t0) / lat_reps;
    /* the unsharded loss on the whole batch, one rank's view (rank 0 times it alone) */
    double tu = 0;
    if (rank == 0) {
        float *xa = malloc(b * c * sizeof *xa), *ga = malloc(b * c * sizeof *ga);
        uint32_t *la = malloc(b * sizeof *la);
        rng_state = 7;
        for (size_t i = 0; i < b; i++) {
            for (size_t j = 0; j < c; j++) xa[i * c + j] = (float)uniform();
            la[i] = (uint32_t)((uniform() + 3.0) / 6.0 * (double)c) % c;
        }
        t0 = MPI_Wtime();
        for (int r = 0; r < reps; r++)
            st |= hs_hypersimplex_loss_multiclass_f32(xa, la, b, c, NULL, 0.5f, HS_REDUCTION_MEAN,
                                                      &loss, ga);
        tu = (MPI_Wtime() - t0) / reps;
        free(xa); free(ga); free(la);
    }
    if (rank == 0)
        printf("ranks %d, global %zu x %zu: sharded multiclass loss+grad (f32) %.1f us/call, %d "
               "allreduce calls; sharded forward of %zu elements %.1f us/call, %d calls; one "
               "16-value MPI_Allreduce %.2f us; unsharded loss+grad on one rank %.1f us\n",
               size, b, c, t * 1e6, calls, b * c, tf * 1e6, fcalls, lat * 1e6, tu * 1e6);
    free(x); free(g); free(lab); free(y);
    return st != 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 64) MPI_Abort(MPI_COMM_WORLD, 2);
    if (argc == 5 && strcmp(argv[1], "--time") == 0) {
        int bad = timing((size_t)atol(argv[2]), (size_t)atol(argv[3]), atoi(argv[4]));
        MPI_Finalize();
        return bad;
    }
    test_forward_vjp(1000, 123.5, 0.5);
    test_forward_vjp(4099, 2000.0, 0.05);
    test_forward_vjp(5, 2.5, 1.0);
    test_forward_vjp(3, 0.0, 1.0);
    test_forward_vjp(3, 3.0, 1.0);
    for (int red = 0; red < 2; red++)
        for (int gk = 0; gk < 2; gk++) test_multiclass(1001, 10, red, gk);
    test_multiclass(2, 3, HS_REDUCTION_SUM, 0);
    test_errors();
    int any = 0;
    MPI_Allreduce(&failures, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%d ranks: %s (%d failed checks)\n", size, any ? "FAIL" : "PASS", any);
    MPI_Finalize();
    return any != 0;
}
