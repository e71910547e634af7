// Using libhypersimplex from C++11 the way training code would: include/hypersimplex.hpp
// (the exception-throwing C++ interface over the C ABI), std::vector buffers, forward, top-k,
// backward, both losses and error handling. Results are compared with hand-computed values
// (see example.c for the derivations); the program exits 1 on any mismatch.
//
// Build (from the repository root, after `cargo build --release -p hypersimplex-ffi`):
//   c++ -std=c++11 c-examples/example.cpp $(PKG_CONFIG_PATH=$PWD/ffi/pkgconfig pkg-config --cflags --libs hypersimplex) -o example_cpp
#include "hypersimplex.hpp"  // namespace hs: templates over the C functions, hs::error

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

// Small conveniences of this program (std::vector in and out) over the header's functions.
static std::vector<float> soft_binary_argmax(const std::vector<float> &x, double k, float tau) {
    std::vector<float> y(x.size());
    hs::soft_binary_argmax(x.data(), x.size(), k, tau, y.data());
    return y;
}

static std::vector<float> vjp(const std::vector<float> &y, const std::vector<float> &g, float tau) {
    if (g.size() != y.size()) throw hs::error(HS_ERR_LENGTH_MISMATCH);
    std::vector<float> gx(y.size());
    hs::soft_binary_argmax_vjp(y.data(), g.data(), y.size(), tau, gx.data());
    return gx;
}

static std::vector<float> top_k(const std::vector<float> &x, size_t k) {
    std::vector<float> y(x.size());
    hs::binary_argmax(x.data(), x.size(), k, y.data());
    return y;
}

static float multiclass(const std::vector<float> &logits, const std::vector<uint32_t> &labels,
                        size_t classes, float tau, int32_t reduction, std::vector<float> &grad) {
    if (logits.size() != labels.size() * classes) throw hs::error(HS_ERR_LENGTH_MISMATCH);
    grad.resize(logits.size());
    return hs::hypersimplex_loss_multiclass(logits.data(), labels.data(), labels.size(), classes,
                                            nullptr, tau, reduction, grad.data());
}

static int failures = 0;

// float <-> bfloat16 (the upper half of a float, rounded to nearest even; finite values only).
static hs::bf16 to_bf16(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    hs::bf16 h = {static_cast<uint16_t>(u >> 16)};
    return h;
}

static float from_bf16(hs::bf16 h) {
    uint32_t u = static_cast<uint32_t>(h.bits) << 16;
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

static void expect(const char *what, const std::vector<float> &got,
                   const std::vector<float> &want) {
    bool ok = got.size() == want.size();
    for (size_t i = 0; ok && i < got.size(); ++i) ok = std::fabs(got[i] - want[i]) <= 1e-5f;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

int main() {
    std::printf("hypersimplex %s (C++)\n", hs_version());
    const std::vector<float> x = {1.2f, -0.3f, 0.8f, 0.1f, -2.0f};
    try {
        std::vector<float> y = soft_binary_argmax(x, 2.0, 2.0f);
        expect("forward", y, {0.875f, 0.125f, 0.675f, 0.325f, 0.0f});
        expect("top-k", top_k(x, 2), {1, 0, 1, 0, 0});
        {
            // two rows of 5 (x and x reversed), k = 2 and 1, in one call
            std::vector<float> xr(x), yr(10);
            xr.insert(xr.end(), x.rbegin(), x.rend());
            const std::size_t kr[2] = {2, 1};
            hs::binary_argmax_rows(xr.data(), 2, 5, kr, yr.data());
            expect("top-k rows", yr, {1, 0, 1, 0, 0, 0, 0, 0, 0, 1});
        std::vector<hs::bf16> xrh(10), yrh(10);
        for (size_t i = 0; i < 10; ++i) xrh[i] = to_bf16(xr[i]);
        hs::binary_argmax_rows(xrh.data(), 2, 5, kr, yrh.data());
        for (size_t i = 0; i < 10; ++i) yr[i] = from_bf16(yrh[i]);
        expect("top-k rows (bf16)", yr, {1, 0, 1, 0, 0, 0, 0, 0, 0, 1});
        }
        expect("vjp", vjp(y, {1, 0, 0, 0, 0}, 2.0f), {0.375f, -0.125f, -0.125f, -0.125f, 0});

        std::vector<float> t = {1, 0, 1, 0, 0}, grad(5);
        float loss = 0.0f;
        hs::check(hs_hypersimplex_loss_f32(x.data(), t.data(), 5, 2.0, 2.0f, &loss, grad.data()));
        expect("binary loss", {loss}, {0.12125f});
        expect("binary loss grad", grad, {-0.0625f, 0.0625f, -0.1625f, 0.1625f, 0.0f});

        std::vector<float> logits = {1.5f, -0.5f, 0.2f, 0.7f, 0.9f, 0.1f, -0.4f, 1.3f}, g;
        float l = multiclass(logits, {0, 1, 0, 1}, 2, 1.0f, HS_REDUCTION_SUM, g);
        expect("multiclass loss", {l}, {0.0625f});
        expect("multiclass grad", g, {0, 0, 0.15f, -0.2f, -0.15f, 0.2f, 0, 0});

        // bfloat16 storage (hs::bf16 holds the bits; computed in float, rounded once): the
        // results are the float functions' on the widened data, rounded to bf16.
        std::vector<hs::bf16> xh(5), yh(5), th(5), gh(5);
        std::vector<float> xw(5), yw(5), gw(5), yb(5), gb(5);
        for (size_t i = 0; i < 5; ++i) {
            xh[i] = to_bf16(x[i]);
            th[i] = to_bf16(t[i]);
            xw[i] = from_bf16(xh[i]);
        }
        hs::soft_binary_argmax(xh.data(), 5, 2.0, 2.0f, yh.data());
        hs::soft_binary_argmax(xw.data(), 5, 2.0, 2.0f, yw.data());
        float lh = hs::hypersimplex_loss(xh.data(), th.data(), 5, 2.0, 2.0f, gh.data());
        float lw = hs::hypersimplex_loss(xw.data(), t.data(), 5, 2.0, 2.0f, gw.data());
        for (size_t i = 0; i < 5; ++i) {
            yb[i] = from_bf16(yh[i]);
            yw[i] = from_bf16(to_bf16(yw[i]));
            gb[i] = from_bf16(gh[i]);
            gw[i] = from_bf16(to_bf16(gw[i]));
        }
        expect("bf16 forward (hs::bf16)", yb, yw);
        expect("bf16 binary loss and gradient", {lh}, {lw});
        expect("bf16 binary loss gradient", gb, gw);
    } catch (const hs::error &e) {
        std::printf("FAIL unexpected error %d: %s\n", e.status(), e.what());
        ++failures;
    }

    // Errors surface as exceptions with the library's status and message; outputs untouched.
    struct Case {
        const char *what;
        int32_t want;
        int32_t got;
    };
    std::vector<float> out(5, 42.0f);
    std::vector<float> bad = x, masked = x;
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    masked[3] = -std::numeric_limits<float>::infinity();  // a mask: y[3] = 0, k <= n - 1
    float loss = 42.0f;
    const uint32_t labels[2] = {0, 9};
    const float logits[4] = {0, 1, 2, 3};
    const Case cases[] = {
        {"negative tau", HS_ERR_INVALID_TAU,
         hs_soft_binary_argmax_f32(x.data(), 5, 2.0, -1.0f, out.data())},
        {"k > n", HS_ERR_INVALID_K, hs_binary_argmax_f32(x.data(), 5, 6, out.data())},
        {"NaN input", HS_ERR_NON_FINITE_INPUT,
         hs_soft_binary_argmax_f32(bad.data(), 5, 2.0, 1.0f, out.data())},
        {"k above what the -inf mask leaves", HS_ERR_INVALID_K,
         hs_soft_binary_argmax_f32(masked.data(), 5, 4.5, 1.0f, out.data())},
        {"NULL g", HS_ERR_NULL_POINTER,
         hs_soft_binary_argmax_vjp_f32(x.data(), nullptr, 5, 1.0f, out.data())},
        {"label out of range", HS_ERR_LABEL_OUT_OF_RANGE,
         hs_hypersimplex_loss_multiclass_f32(logits, labels, 2, 2, nullptr, 1.0f,
                                             HS_REDUCTION_MEAN, &loss, out.data())},
        {"NULL loss", HS_ERR_NULL_POINTER,
         hs_hypersimplex_loss_f32(x.data(), x.data(), 5, 2.0, 1.0f, nullptr, nullptr)},
    };
    for (const Case &c : cases) {
        bool ok = c.got == c.want;
        std::printf("%s error: %s -> %d (%s)\n", ok ? "ok  " : "FAIL", c.what, c.got,
                    hs_status_message(c.got));
        if (!ok) ++failures;
    }
    expect("outputs untouched after errors", out, std::vector<float>(5, 42.0f));
    expect("loss untouched after errors", {loss}, {42.0f});
    {
        // -inf is a mask: exactly 0 there, the other entries share k
        std::vector<float> ym(5, 42.0f);
        const int32_t st = hs_soft_binary_argmax_f32(masked.data(), 5, 2.0, 1.0f, ym.data());
        float sum = 0.0f;
        for (float v : ym) sum += v;
        const bool ok = st == HS_OK && ym[3] == 0.0f && std::fabs(sum - 2.0f) < 1e-5f;
        std::printf("%s -inf entry as a mask: y[3] = %g, sum %g\n", ok ? "ok  " : "FAIL", ym[3], sum);
        if (!ok) ++failures;
    }
    try {
        soft_binary_argmax(x, 2.0, 0.0f);
        std::printf("FAIL no exception for tau = 0\n");
        ++failures;
    } catch (const hs::error &e) {
        bool ok = e.status() == HS_ERR_INVALID_TAU && std::string(e.what()).size() > 0;
        std::printf("%s exception: %s\n", ok ? "ok  " : "FAIL", e.what());
        if (!ok) ++failures;
    }

    if (failures) {
        std::printf("%d check(s) FAILED\n", failures);
        return 1;
    }
    std::printf("all C++ checks passed\n");
    return 0;
}
