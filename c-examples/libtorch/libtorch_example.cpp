// LibTorch example: the hypersimplex library (through hypersimplex.hpp) as autograd operators.
//
//   SoftBinaryArgmax  y = Π_Δ(n,k)(x/τ) of each row of x (last dimension n); backward = the
//                     library's VJP from the saved output.
//   MulticlassLoss    the multiclass HyperSimplex loss of logits [B, C] and labels [B]
//                     (k_c = the count of label c in the batch, mean reduction); the library
//                     returns the loss and ∂loss/∂logits in one call, backward scales the latter.
//
// The program checks, in double precision, the forward outputs against a bisection reference
// written here, the gradients against central finite differences (and that the check catches a
// gradient wrong by 0.1 %), that a bad τ surfaces as hs::error with the library's status; then
// trains the 64-64-10 MLP of python/train_torch.py on data/digits_*.csv with MulticlassLoss
// (τ = 1.5, Adam lr 1e-2, batch 256) and requires the epoch loss to fall and the test accuracy
// to reach 0.8 (chance: 0.1). Exits non-zero when a check fails.
//
//   libtorch_example [DATA_DIR] [EPOCHS]      (defaults: the repository's data/, 10)
// Build: see CMakeLists.txt beside this file.

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <hypersimplex.hpp>

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

Tensor cpu_contiguous(const Tensor &t, const char *what) {
    TORCH_CHECK(t.device().is_cpu(), what, " must be a CPU tensor");
    return t.contiguous();
}

// y = Soft-Binary-Argmax@k(x/τ) over the last dimension of x (float or double).
struct SoftBinaryArgmax : public torch::autograd::Function<SoftBinaryArgmax> {
    static Tensor forward(AutogradContext *ctx, const Tensor &x_in, double k, double tau) {
        Tensor x = cpu_contiguous(x_in, "x");
        TORCH_CHECK(x.dim() >= 1 && x.size(-1) > 0, "x needs a non-empty last dimension");
        const std::size_t n = static_cast<std::size_t>(x.size(-1));
        const std::size_t rows = static_cast<std::size_t>(x.numel()) / n;
        Tensor y = torch::empty_like(x);
        const std::vector<double> ks(rows, k);
        AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "soft_binary_argmax", [&] {
            hs::soft_binary_argmax_rows(x.data_ptr<scalar_t>(), rows, n, ks.data(),
                                        static_cast<scalar_t>(tau), y.data_ptr<scalar_t>());
        });
        ctx->save_for_backward({y});
        ctx->saved_data["tau"] = tau;
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grad_out) {
        const Tensor y = ctx->get_saved_variables()[0];
        const Tensor g = cpu_contiguous(grad_out[0], "grad").to(y.scalar_type());
        const double tau = ctx->saved_data["tau"].toDouble();
        const std::size_t n = static_cast<std::size_t>(y.size(-1));
        const std::size_t rows = static_cast<std::size_t>(y.numel()) / n;
        Tensor gx = torch::empty_like(y);
        AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "soft_binary_argmax_vjp", [&] {
            hs::soft_binary_argmax_vjp_rows(y.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(), rows,
                                            n, static_cast<scalar_t>(tau),
                                            gx.data_ptr<scalar_t>());
        });
        return {gx, Tensor(), Tensor()};  // nothing for k and τ
    }
};

// Mean multiclass HyperSimplex loss of logits [B, C] with int64 labels [B].
struct MulticlassLoss : public torch::autograd::Function<MulticlassLoss> {
    static Tensor forward(AutogradContext *ctx, const Tensor &logits_in, const Tensor &labels_in,
                          double tau) {
        Tensor logits = cpu_contiguous(logits_in, "logits");
        TORCH_CHECK(logits.dim() == 2, "logits must be [batch, classes]");
        const Tensor labels = cpu_contiguous(labels_in, "labels").to(torch::kLong);
        TORCH_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0),
                    "labels must be [batch]");
        const int64_t classes = logits.size(1);
        std::vector<uint32_t> lab(static_cast<std::size_t>(labels.numel()));
        const int64_t *lp = labels.data_ptr<int64_t>();
        for (std::size_t i = 0; i < lab.size(); ++i) {
            // out-of-range labels become `classes`, which the library rejects with its status
            lab[i] = lp[i] >= 0 && lp[i] < classes ? static_cast<uint32_t>(lp[i])
                                                   : static_cast<uint32_t>(classes);
        }
        Tensor grad = torch::empty_like(logits);
        Tensor loss = torch::empty({}, logits.options());
        AT_DISPATCH_FLOATING_TYPES(logits.scalar_type(), "hypersimplex_loss_multiclass", [&] {
            loss.fill_(hs::hypersimplex_loss_multiclass(
                logits.data_ptr<scalar_t>(), lab.data(), lab.size(),
                static_cast<std::size_t>(classes), nullptr, static_cast<scalar_t>(tau),
                HS_REDUCTION_MEAN, grad.data_ptr<scalar_t>()));
        });
        ctx->save_for_backward({grad});
        return loss;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grad_out) {
        const Tensor grad = ctx->get_saved_variables()[0];
        return {grad * grad_out[0].to(grad.scalar_type()), Tensor(), Tensor()};
    }
};

// ------------------------------------------------------------------ independent references

// Π_Δ(n,k)(v) by bisection on λ (Σ clip(v − λ, 0, 1) = k is non-increasing in λ).
std::vector<double> project_bisect(const std::vector<double> &v, double k) {
    double lo = *std::min_element(v.begin(), v.end()) - 1.0;
    double hi = *std::max_element(v.begin(), v.end());
    auto mass = [&](double lam) {
        double s = 0;
        for (double e : v) s += std::min(1.0, std::max(0.0, e - lam));
        return s;
    };
    for (int it = 0; it < 200; ++it) {
        const double mid = 0.5 * (lo + hi);
        (mass(mid) > k ? lo : hi) = mid;
    }
    std::vector<double> y(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
        y[i] = std::min(1.0, std::max(0.0, v[i] - 0.5 * (lo + hi)));
    return y;
}

// The entries of a 1-D tensor times scale.
std::vector<double> values(const Tensor &t, double scale) {
    const Tensor d = t.detach().to(torch::kDouble).contiguous();
    std::vector<double> v(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
    for (double &e : v) e *= scale;
    return v;
}

// Largest |a − b| / max(1, |b|) between the analytic gradient and central differences of f.
double fd_error(const std::function<double(const Tensor &)> &f, const Tensor &x,
                const Tensor &analytic, double h = 1e-6) {
    double worst = 0;
    Tensor xp = x.detach().clone();
    auto flat = xp.view({-1});
    auto ana = analytic.contiguous().view({-1});
    for (int64_t i = 0; i < flat.numel(); ++i) {
        const double x0 = flat[i].item<double>();
        flat[i].fill_(x0 + h);
        const double fp = f(xp);
        flat[i].fill_(x0 - h);
        const double fm = f(xp);
        flat[i].fill_(x0);
        const double fd = (fp - fm) / (2 * h);
        worst = std::max(worst, std::abs(ana[i].item<double>() - fd) / std::max(1.0, std::abs(fd)));
    }
    return worst;
}

int failures = 0;
void check(bool ok, const std::string &what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
    if (!ok) ++failures;
}
std::string fmt(const char *f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// ------------------------------------------------------------------ checks

void check_soft_binary_argmax() {
    const double k = 3.0, tau = 0.7;
    const Tensor x = torch::randn({4, 9}, torch::kDouble).requires_grad_();
    const Tensor w = torch::randn({4, 9}, torch::kDouble);
    const Tensor y = SoftBinaryArgmax::apply(x, k, tau);

    double fwd = 0;
    for (int64_t r = 0; r < 4; ++r) {
        const auto ref = project_bisect(values(x[r], 1 / tau), k);
        for (int64_t i = 0; i < 9; ++i) fwd = std::max(fwd, std::abs(y[r][i].item<double>() - ref[i]));
    }
    check(fwd < 1e-9, "soft_binary_argmax forward vs bisection reference, max |diff| " +
                          fmt("%.1e", fwd));

    (y * w).sum().backward();
    auto f = [&](const Tensor &xs) {
        torch::NoGradGuard ng;
        return (SoftBinaryArgmax::apply(xs, k, tau) * w).sum().item<double>();
    };
    const double err = fd_error(f, x, x.grad());
    check(err < 1e-6, "soft_binary_argmax backward vs finite differences, max rel error " +
                          fmt("%.1e", err));
    const double wrong = fd_error(f, x, x.grad() * 1.001);
    check(wrong > 1e-6, "negative control: a gradient off by 0.1% fails the check (error " +
                            fmt("%.1e", wrong) + ")");
}

void check_multiclass_loss() {
    const double tau = 1.5;
    const int64_t batch = 12, classes = 4;
    const Tensor logits = (3 * torch::randn({batch, classes}, torch::kDouble)).requires_grad_();
    const Tensor labels = torch::randint(classes, {batch}, torch::kLong);
    const Tensor loss = MulticlassLoss::apply(logits, labels, tau);

    double ref = 0;
    for (int64_t c = 0; c < classes; ++c) {
        const double kc = (labels == c).sum().item<double>();
        const auto p = project_bisect(values(logits.select(1, c), 1 / tau), kc);
        for (int64_t b = 0; b < batch; ++b) {
            const double d = p[b] - (labels[b].item<int64_t>() == c ? 1.0 : 0.0);
            ref += d * d;
        }
    }
    ref /= static_cast<double>(batch * classes);
    const double rel = std::abs(loss.item<double>() - ref) / ref;
    check(rel < 1e-9, "multiclass loss vs bisection reference, rel diff " + fmt("%.1e", rel));

    loss.backward();
    auto f = [&](const Tensor &xs) {
        torch::NoGradGuard ng;
        return MulticlassLoss::apply(xs, labels, tau).item<double>();
    };
    const double err = fd_error(f, logits, logits.grad());
    check(err < 1e-6, "multiclass loss backward vs finite differences, max rel error " +
                          fmt("%.1e", err));

    int32_t status = 0;
    try {
        MulticlassLoss::apply(logits, labels, 0.0);
    } catch (const hs::error &e) {
        status = e.status();
    }
    check(status == HS_ERR_INVALID_TAU, "tau = 0 throws hs::error with HS_ERR_INVALID_TAU");
}

// ------------------------------------------------------------------ training

struct Digits {
    Tensor x, y;
};

Digits load_digits(const std::string &path) {
    std::ifstream f(path);
    std::vector<float> px;
    std::vector<int64_t> lab;
    std::string line, cell;
    while (std::getline(f, line)) {
        std::istringstream s(line);
        for (int j = 0; std::getline(s, cell, ','); ++j) {
            if (j == 0) lab.push_back(std::stoll(cell));
            else px.push_back(std::stof(cell) / 16.0f);
        }
    }
    const auto n = static_cast<int64_t>(lab.size());
    TORCH_CHECK(n > 0 && px.size() == static_cast<std::size_t>(n) * 64,
                "cannot read 8x8 digits from ", path);
    return {torch::from_blob(px.data(), {n, 64}).clone(), torch::tensor(lab)};
}

void train(const std::string &dir, int epochs) {
    const Digits tr = load_digits(dir + "/digits_train.csv");
    const Digits te = load_digits(dir + "/digits_test.csv");
    torch::manual_seed(0);
    torch::nn::Sequential net(torch::nn::Linear(64, 64), torch::nn::ReLU(),
                              torch::nn::Linear(64, 10));
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
    const int64_t batch = 256, n = tr.y.size(0);
    double first = 0, last = 0, best = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        const Tensor perm = torch::randperm(n, torch::kLong);
        double sum = 0;
        int batches = 0;
        for (int64_t s = 0; s < n; s += batch) {
            const Tensor idx = perm.slice(0, s, std::min(n, s + batch));
            opt.zero_grad();
            const Tensor loss = MulticlassLoss::apply(net->forward(tr.x.index_select(0, idx)),
                                                      tr.y.index_select(0, idx), 1.5);
            loss.backward();
            opt.step();
            sum += loss.item<double>();
            ++batches;
        }
        torch::NoGradGuard ng;
        const double acc = net->forward(te.x).argmax(1).eq(te.y).to(torch::kDouble).mean().item<double>();
        best = std::max(best, acc);
        last = sum / batches;
        if (epoch == 0) first = last;
        std::printf("epoch %2d  train loss %.5f  test accuracy %.4f\n", epoch + 1, last, acc);
    }
    check(last < first, "training loss falls (" + fmt("%.5f", first) + " -> " + fmt("%.5f", last) + ")");
    check(best >= 0.8, "best test accuracy " + fmt("%.4f", best) + " >= 0.8");
}

}  // namespace

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : HS_DIGITS_DIR;
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 10;
    std::printf("hypersimplex %s, LibTorch %s\n", hs::version(), TORCH_VERSION);
    torch::set_num_threads(1);
    torch::manual_seed(1);
    try {
        check_soft_binary_argmax();
        check_multiclass_loss();
        if (epochs > 0) train(dir, epochs);
    } catch (const std::exception &e) {
        std::printf("FAIL: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", failures ? "FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
