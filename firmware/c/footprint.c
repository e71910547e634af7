/*
 * Flash footprint probe: the same program linked with and without the four f32 calls the
 * budget covers (forward, backward, top-k, binary loss). The difference in .text + .rodata is
 * what the library adds to a firmware image (its own code, the parts of libcore it uses, and
 * the software floating-point routines of compiler_builtins it pulls in).
 * Build: arm-none-eabi-gcc ... footprint.c startup.c [-DWITH_LIB libhypersimplex.a]
 */
#include <stddef.h>
#include <stdint.h>

#include "hypersimplex.h"

#define N 8
volatile float vin[N] = {0.5f, -1.0f, 2.0f, 0.25f, 1.5f, -0.5f, 0.75f, 3.0f};
volatile float vt[N] = {0.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f};
volatile double vk = 3.0;
volatile float vtau = 0.5f;
volatile size_t vkk = 3;
volatile float vout;

int main(void) {
    float x[N], t[N], y[N], gx[N], loss = 0.0f;
    int32_t s = 0;
    for (int i = 0; i < N; i++) {
        x[i] = vin[i];
        t[i] = vt[i];
    }
#ifdef WITH_LIB
    s |= hs_soft_binary_argmax_f32(x, N, vk, vtau, y);
    s |= hs_soft_binary_argmax_vjp_f32(y, t, N, vtau, gx);
    s |= hs_binary_argmax_f32(x, N, vkk, y);
    s |= hs_hypersimplex_loss_f32(x, t, N, vk, vtau, &loss, gx);
#else
    for (int i = 0; i < N; i++) y[i] = gx[i] = x[i] + t[i];
#endif
    vout = y[0] + gx[1] + loss;
    return s != 0;
}
