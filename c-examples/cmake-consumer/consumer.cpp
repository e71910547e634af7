// A C++ program built against the installed library through hypersimplex.hpp: forward,
// backward, both losses, and the exception on bad input (same status, outputs untouched).
#include <hypersimplex.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

static int failures = 0;
static void expect(bool ok, const char *what) {
    if (!ok) {
        std::printf("FAILED: %s\n", what);
        failures++;
    }
}

int main() {
    std::vector<float> x = {1.2f, -0.3f, 0.8f, 0.1f, -2.0f}, y(5), gx(5);
    hs::soft_binary_argmax(x.data(), x.size(), 2.0, 2.0f, y.data());
    expect(std::fabs(y[0] - 0.875f) < 1e-6f && y[4] == 0.0f, "forward values");
    // backward of g = e_0: free set {0,1,2,3}, mean 1/4: (0.75, -0.25, -0.25, -0.25, 0) / tau
    std::vector<float> g = {1, 0, 0, 0, 0};
    hs::soft_binary_argmax_vjp(y.data(), g.data(), y.size(), 2.0f, gx.data());
    expect(std::fabs(gx[0] - 0.375f) < 1e-6f && std::fabs(gx[1] + 0.125f) < 1e-6f && gx[4] == 0.0f,
           "vjp values");
    std::vector<double> t = {1, 0, 1, 0, 0}, xd(x.begin(), x.end()), gd(5);
    double l = hs::hypersimplex_loss(xd.data(), t.data(), 5, 2.0, 2.0, gd.data());
    if (std::fabs(l - 0.12125) > 1e-6) std::printf("loss %.17g\n", l);
    expect(std::fabs(l - 0.12125) < 1e-6, "binary loss: ½‖ŷ − t‖² = 0.12125");
    std::vector<float> logits = {1.5f, -0.5f, 0.2f, 0.7f}, gl(4);
    std::vector<uint32_t> labels = {0, 1};
    float ml = hs::hypersimplex_loss_multiclass(logits.data(), labels.data(), 2, 2, nullptr, 1.0f,
                                                HS_REDUCTION_SUM, gl.data());
    expect(ml >= 0.0f && std::isfinite(ml), "multiclass loss");
    // bad input: tau = 0 → hs::error with HS_ERR_INVALID_TAU, y untouched
    std::vector<float> keep(5, 7.0f);
    bool thrown = false;
    try {
        hs::soft_binary_argmax(x.data(), x.size(), 2.0, 0.0f, keep.data());
    } catch (const hs::error &e) {
        thrown = e.status() == HS_ERR_INVALID_TAU && std::string(e.what()).size() > 0;
    }
    expect(thrown, "hs::error with HS_ERR_INVALID_TAU");
    for (float v : keep) expect(v == 7.0f, "output untouched after the error");
    std::printf("hypersimplex %s (C++): %s\n", hs::version(), failures ? "WRONG" : "ok");
    return failures != 0;
}
