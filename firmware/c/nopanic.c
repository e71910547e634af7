/*
 * Links every function of the no_std C ABI (all of include/hypersimplex.h except
 * hs_hypersimplex_loss_multiclass_f32/_f64/_bf16/_f16, which only std builds provide) into one
 * image, for
 * the no-panic check: scripts/test-firmware.sh disassembles the result and fails if anything
 * in it calls into core::panicking (the ffi's no_std panic handler would only halt).
 * Arguments come from volatile storage; the library is opaque to the C compiler anyway.
 */
#include <stddef.h>
#include <stdint.h>

#include "hypersimplex.h"

volatile size_t vn = 4, vrows = 1, vk = 2;
volatile double vkd = 2.0;
volatile float vtau = 1.0f;
volatile double vtaud = 1.0;
volatile int32_t vred = 0;
volatile uintptr_t vsink;

int main(void) {
    float xf[4] = {1, 2, 3, 4}, yf[4], gf[4] = {0}, lf;
    double xd[4] = {1, 2, 3, 4}, yd[4], gd[4] = {0}, ld, kd[4] = {1, 1, 1, 1};
    uint32_t labels[4] = {0, 1, 2, 3};
    float sf[4];
    double sd[4];
    uint16_t xh[4] = {0x3f80, 0x4000, 0x4040, 0x4080}, yh[4], gh[4] = {0};
    size_t n = vn, rows = vrows, k = vk;
    double kk = vkd;
    int32_t s = 0, red = vred;
    s |= hs_soft_binary_argmax_f32(xf, n, kk, vtau, yf);
    s |= hs_soft_binary_argmax_f64(xd, n, kk, vtaud, yd);
    s |= hs_soft_binary_argmax_vjp_f32(yf, gf, n, vtau, xf);
    s |= hs_soft_binary_argmax_vjp_f64(yd, gd, n, vtaud, xd);
    s |= hs_binary_argmax_f32(xf, n, k, yf);
    s |= hs_binary_argmax_f64(xd, n, k, yd);
    s |= hs_soft_binary_argmax_rows_f32(xf, rows, n, kd, vtau, yf);
    s |= hs_soft_binary_argmax_rows_f64(xd, rows, n, kd, vtaud, yd);
    s |= hs_soft_binary_argmax_vjp_rows_f32(yf, gf, rows, n, vtau, xf);
    s |= hs_soft_binary_argmax_vjp_rows_f64(yd, gd, rows, n, vtaud, xd);
    s |= hs_hypersimplex_loss_f32(xf, gf, n, kk, vtau, &lf, yf);
    s |= hs_hypersimplex_loss_f64(xd, gd, n, kk, vtaud, &ld, yd);
    s |= hs_hypersimplex_loss_multiclass_scratch_f32(xf, labels, n, 1, NULL, vtau, red, &lf, yf, sf,
                                                     hs_multiclass_scratch_len(n, 1));
    s |= hs_hypersimplex_loss_multiclass_scratch_f64(xd, labels, n, 1, kd, vtaud, red, &ld, yd, sd, 4);
    /* half precision (bits in uint16_t) */
    s |= hs_soft_binary_argmax_bf16(xh, n, kk, vtau, yh);
    s |= hs_soft_binary_argmax_f16(xh, n, kk, vtau, yh);
    s |= hs_soft_binary_argmax_vjp_bf16(yh, gh, n, vtau, xh);
    s |= hs_soft_binary_argmax_vjp_f16(yh, gh, n, vtau, xh);
    s |= hs_binary_argmax_bf16(xh, n, k, yh);
    s |= hs_binary_argmax_f16(xh, n, k, yh);
    s |= hs_soft_binary_argmax_rows_bf16(xh, rows, n, kd, vtau, yh);
    s |= hs_soft_binary_argmax_rows_f16(xh, rows, n, kd, vtau, yh);
    s |= hs_soft_binary_argmax_vjp_rows_bf16(yh, gh, rows, n, vtau, xh);
    s |= hs_soft_binary_argmax_vjp_rows_f16(yh, gh, rows, n, vtau, xh);
    vsink = (uintptr_t)hs_status_message(s) + (uintptr_t)hs_version();
    return s != 0;
}
