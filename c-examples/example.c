/*
 * Using libhypersimplex from C99 the way a user would: forward, top-k, backward, both losses,
 * row-wise calls, bfloat16 data, error handling. Every result is compared with values worked
 * out by hand (see the comments; the bfloat16 ones with the float functions on the widened
 * data); the program exits 1 on any mismatch.
 *
 * Build (from the repository root, after `cargo build --release -p hypersimplex-ffi`):
 *   cc -std=c99 c-examples/example.c $(PKG_CONFIG_PATH=$PWD/ffi/pkgconfig pkg-config --cflags --libs hypersimplex) -o example
 */
#include "hypersimplex.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

static void check_status(const char *what, int32_t got, int32_t want) {
    if (got != want) {
        printf("FAIL %s: status %d (%s), expected %d (%s)\n", what, (int)got,
               hs_status_message(got), (int)want, hs_status_message(want));
        failures++;
    }
}

static void check_vec(const char *what, const float *got, const float *want, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (!(fabsf(got[i] - want[i]) <= 1e-5f)) {
            printf("FAIL %s[%zu]: %.7g, expected %.7g\n", what, i, got[i], want[i]);
            failures++;
            return;
        }
    }
    printf("ok   %s\n", what);
}

static void check_untouched(const char *what, const float *buf, size_t n, float sentinel) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (buf[i] != sentinel) {
            printf("FAIL %s: output modified on error\n", what);
            failures++;
            return;
        }
    }
}

/* float <-> bfloat16 bits (bfloat16 is the upper half of a float; round to nearest even).
 * Finite values only: enough for an example. */
static uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static float from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int main(void) {
    /* Soft-Binary-Argmax@k with k = 2, tau = 2: z = x/2 = (0.6, -0.15, 0.4, 0.05, -1).
     * The first four are free: lambda = (0.9 - 2)/4 = -0.275, y = z + 0.275, y[4] = 0. */
    const float x[5] = {1.2f, -0.3f, 0.8f, 0.1f, -2.0f};
    const float y_want[5] = {0.875f, 0.125f, 0.675f, 0.325f, 0.0f};
    float y[5], buf[5];
    int32_t s;

    printf("hypersimplex %s\n", hs_version());

    s = hs_soft_binary_argmax_f32(x, 5, 2.0, 2.0f, y);
    check_status("forward", s, HS_OK);
    check_vec("forward y", y, y_want, 5);

    /* In place: y == x is allowed. */
    memcpy(buf, x, sizeof x);
    s = hs_soft_binary_argmax_f32(buf, 5, 2.0, 2.0f, buf);
    check_status("forward in place", s, HS_OK);
    check_vec("forward in place y", buf, y_want, 5);

    /* Double precision twin. */
    {
        const double xd[5] = {1.2, -0.3, 0.8, 0.1, -2.0};
        double yd[5];
        float yf[5];
        size_t i;
        s = hs_soft_binary_argmax_f64(xd, 5, 2.0, 2.0, yd);
        check_status("forward f64", s, HS_OK);
        for (i = 0; i < 5; i++) yf[i] = (float)yd[i];
        check_vec("forward f64 y", yf, y_want, 5);
    }

    /* Top-k mask, k = 2: the two largest are x[0] = 1.2 and x[2] = 0.8. */
    {
        const float mask_want[5] = {1, 0, 1, 0, 0};
        float mask[5];
        s = hs_binary_argmax_f32(x, 5, 2, mask);
        check_status("top-k", s, HS_OK);
        check_vec("top-k mask", mask, mask_want, 5);
    }

    /* Backward: g = e_0. Free set A = {0,1,2,3}, mean_A g = 0.25,
     * grad = (g - 0.25)/tau on A = (0.375, -0.125, -0.125, -0.125, 0). */
    {
        const float g[5] = {1, 0, 0, 0, 0};
        const float gx_want[5] = {0.375f, -0.125f, -0.125f, -0.125f, 0.0f};
        float gx[5], gg[5];
        s = hs_soft_binary_argmax_vjp_f32(y, g, 5, 2.0f, gx);
        check_status("vjp", s, HS_OK);
        check_vec("vjp grad_x", gx, gx_want, 5);
        memcpy(gg, g, sizeof g);
        s = hs_soft_binary_argmax_vjp_f32(y, gg, 5, 2.0f, gg); /* grad_x == g: in place */
        check_status("vjp in place", s, HS_OK);
        check_vec("vjp in place grad_x", gg, gx_want, 5);
    }

    /* Rows: row 0 as above (k = 2); row 1 the same x with k = 1:
     * free {0, 2, 3}: lambda = (1.05 - 1)/3 = 1/60, y = (0.58333, 0, 0.38333, 0.03333, 0). */
    {
        float xr[10], yr[10];
        const double ks[2] = {2.0, 1.0};
        const float row1_want[5] = {0.6f - 1.0f / 60, 0.0f, 0.4f - 1.0f / 60, 0.05f - 1.0f / 60,
                                    0.0f};
        memcpy(xr, x, sizeof x);
        memcpy(xr + 5, x, sizeof x);
        s = hs_soft_binary_argmax_rows_f32(xr, 2, 5, ks, 2.0f, yr);
        check_status("rows", s, HS_OK);
        check_vec("rows y[0]", yr, y_want, 5);
        check_vec("rows y[1]", yr + 5, row1_want, 5);
    }

    /* Binary loss: target t = (1,0,1,0,0), k = 2, tau = 2. r = y - t =
     * (-0.125, 0.125, -0.325, 0.325, 0): loss = 0.5*(2*0.125^2 + 2*0.325^2) = 0.12125;
     * mean_A r = 0, so grad = r/2 on A. */
    {
        const float t[5] = {1, 0, 1, 0, 0};
        const float grad_want[5] = {-0.0625f, 0.0625f, -0.1625f, 0.1625f, 0.0f};
        const float loss_want = 0.12125f;
        float loss = 0, grad[5];
        s = hs_hypersimplex_loss_f32(x, t, 5, 2.0, 2.0f, &loss, grad);
        check_status("binary loss", s, HS_OK);
        check_vec("binary loss value", &loss, &loss_want, 1);
        check_vec("binary loss grad", grad, grad_want, 5);
    }

    /* Multiclass loss: batch 4, classes 2, labels (0,1,0,1), tau 1, k = label counts (2, 2).
     * Column 0 = (1.5, 0.2, 0.9, -0.4): lambda = 0.05, p = (1, 0.15, 0.85, 0),
     *   r = p - onehot = (0, 0.15, -0.15, 0).
     * Column 1 = (-0.5, 0.7, 0.1, 1.3): lambda = -0.1, p = (0, 0.8, 0.2, 1),
     *   r = (0, -0.2, 0.2, 0).
     * Sum reduction: loss = 0.5*(0.045 + 0.08) = 0.0625, grad = r/tau (mean_A r = 0).
     * Mean reduction: loss = 0.125/8, grad scaled by 2/8. */
    {
        const float logits[8] = {1.5f, -0.5f, 0.2f, 0.7f, 0.9f, 0.1f, -0.4f, 1.3f};
        const uint32_t labels[4] = {0, 1, 0, 1};
        const float grad_want[8] = {0, 0, 0.15f, -0.2f, -0.15f, 0.2f, 0, 0};
        float grad_mean_want[8];
        const float loss_want = 0.0625f, loss_mean_want = 0.015625f;
        float loss = 0, grad[8];
        float scratch[4];
        size_t i;
        s = hs_hypersimplex_loss_multiclass_f32(logits, labels, 4, 2, NULL, 1.0f,
                                                HS_REDUCTION_SUM, &loss, grad);
        check_status("multiclass", s, HS_OK);
        check_vec("multiclass loss", &loss, &loss_want, 1);
        check_vec("multiclass grad", grad, grad_want, 8);
        for (i = 0; i < 8; i++) grad_mean_want[i] = grad_want[i] * 0.25f;
        s = hs_hypersimplex_loss_multiclass_scratch_f32(logits, labels, 4, 2, NULL, 1.0f,
                                                        HS_REDUCTION_MEAN, &loss, grad, scratch,
                                                        hs_multiclass_scratch_len(4, 2));
        check_status("multiclass mean (caller scratch)", s, HS_OK);
        check_vec("multiclass mean loss", &loss, &loss_mean_want, 1);
        check_vec("multiclass mean grad", grad, grad_mean_want, 8);
    }

    /* Mixed precision: bfloat16 logits and gradients in uint16_t, computed in float inside.
     * Each output is the float result rounded once, so within one bf16 ulp (1/256 on [0, 1])
     * of the float call on the widened input. */
    {
        uint16_t xh[5], yh[5], gh[5], gxh[5];
        float xw[5], yf[5], g[5] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f}, gx[5];
        size_t i;
        int ok = 1;
        for (i = 0; i < 5; i++) {
            xh[i] = to_bf16(x[i]);
            xw[i] = from_bf16(xh[i]);
            gh[i] = to_bf16(g[i]);
        }
        s = hs_soft_binary_argmax_bf16(xh, 5, 2.0, 2.0f, yh);
        check_status("bf16 forward", s, HS_OK);
        s = hs_soft_binary_argmax_f32(xw, 5, 2.0, 2.0f, yf);
        check_status("f32 forward on the widened bf16 input", s, HS_OK);
        for (i = 0; i < 5; i++) ok &= yh[i] == to_bf16(yf[i]);
        s = hs_soft_binary_argmax_vjp_bf16(yh, gh, 5, 2.0f, gxh);
        check_status("bf16 vjp", s, HS_OK);
        for (i = 0; i < 5; i++) yf[i] = from_bf16(yh[i]);
        s = hs_soft_binary_argmax_vjp_f32(yf, g, 5, 2.0f, gx);
        check_status("f32 vjp on the widened bf16 y", s, HS_OK);
        for (i = 0; i < 5; i++) ok &= fabsf(from_bf16(gxh[i]) - gx[i]) <= fabsf(gx[i]) / 128.0f;
        if (ok) {
            printf("ok   bf16 forward and VJP (y[0] = %g)\n", (double)from_bf16(yh[0]));
        } else {
            printf("FAIL bf16 results differ from the rounded f32 results\n");
            failures++;
        }
    }

    /* Error handling: a specific status, outputs untouched. */
    {
        const float sentinel = -7.0f;
        const float bad[5] = {1.2f, NAN, 0.8f, 0.1f, -2.0f};
        const uint32_t labels[2] = {0, 5};
        const float logits[4] = {0, 1, 2, 3};
        float out[5], loss = sentinel;
        size_t i;
        for (i = 0; i < 5; i++) out[i] = sentinel;
        s = hs_soft_binary_argmax_f32(x, 5, 2.0, 0.0f, out);
        check_status("tau = 0", s, HS_ERR_INVALID_TAU);
        s = hs_soft_binary_argmax_f32(x, 5, 6.0, 1.0f, out);
        check_status("k > n", s, HS_ERR_INVALID_K);
        s = hs_soft_binary_argmax_f32(bad, 5, 2.0, 1.0f, out);
        check_status("NaN input", s, HS_ERR_NON_FINITE_INPUT);
        s = hs_soft_binary_argmax_f32(NULL, 5, 2.0, 1.0f, out);
        check_status("NULL x", s, HS_ERR_NULL_POINTER);
        s = hs_soft_binary_argmax_f32(x, 4, 2.0, 1.0f, (float *)x + 1);
        check_status("partial overlap", s, HS_ERR_OVERLAP);
        s = hs_hypersimplex_loss_multiclass_f32(logits, labels, 2, 2, NULL, 1.0f,
                                                HS_REDUCTION_SUM, &loss, out);
        check_status("label out of range", s, HS_ERR_LABEL_OUT_OF_RANGE);
        s = hs_hypersimplex_loss_multiclass_f32(logits, labels, 2, 2, NULL, 1.0f, 7, &loss, out);
        check_status("bad reduction", s, HS_ERR_INVALID_REDUCTION);
        check_untouched("error outputs", out, 5, sentinel);
        check_untouched("error loss", &loss, 1, sentinel);
        /* NULL with length 0 is fine. */
        s = hs_soft_binary_argmax_f32(NULL, 0, 0.0, 1.0f, NULL);
        check_status("empty input", s, HS_OK);
        if (strcmp(hs_status_message(12345), "unknown status") != 0 ||
            strlen(hs_status_message(HS_ERR_INVALID_TAU)) == 0) {
            printf("FAIL status messages\n");
            failures++;
        }
        printf("ok   errors (e.g. \"%s\")\n", hs_status_message(HS_ERR_INVALID_TAU));
    }

    if (failures) {
        printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    printf("all C checks passed\n");
    return 0;
}
