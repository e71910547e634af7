/* A C program built against the installed library: forward, top-k and an error, checked
   against hand-computed values. x = (1.2, -0.3, 0.8, 0.1, -2.0), k = 2, tau = 2:
   z = x/2 = (0.6, -0.15, 0.4, 0.05, -1); lambda = -0.275 gives
   y = (0.875, 0.125, 0.675, 0.325, 0), which sums to 2. Exits 0 when every check holds. */
#include <hypersimplex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    const float x[5] = {1.2f, -0.3f, 0.8f, 0.1f, -2.0f};
    const float want[5] = {0.875f, 0.125f, 0.675f, 0.325f, 0.0f};
    float y[5], m[5];
    int bad = 0;
    if (hs_soft_binary_argmax_f32(x, 5, 2.0, 2.0f, y) != HS_OK) return 2;
    for (int i = 0; i < 5; i++) bad |= fabsf(y[i] - want[i]) > 1e-6f;
    if (hs_binary_argmax_f32(x, 5, 2, m) != HS_OK) return 3;
    bad |= !(m[0] == 1.0f && m[2] == 1.0f && m[1] == 0.0f && m[3] == 0.0f && m[4] == 0.0f);
    float keep[5] = {7, 7, 7, 7, 7};
    bad |= hs_soft_binary_argmax_f32(x, 5, 2.0, 0.0f, keep) != HS_ERR_INVALID_TAU;
    for (int i = 0; i < 5; i++) bad |= keep[i] != 7.0f;
    printf("hypersimplex %s: y = %.3f %.3f %.3f %.3f %.3f: %s\n", hs_version(), y[0], y[1], y[2],
           y[3], y[4], bad ? "WRONG" : "ok");
    return bad;
}
