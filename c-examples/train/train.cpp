// Training demo: the paper's Table 1 experiment in miniature, from C++ through the C ABI.
//
// A 64-H-10 ReLU MLP (hand-written forward/backward, Adam) is trained on the UCI optical-digits
// images (data/digits_{train,test}.csv) with
//   (a) softmax cross-entropy (mean over the batch), and
//   (b) the multiclass HyperSimplex loss, computed by hs_hypersimplex_loss_multiclass_lambda_f32
//       from libhypersimplex (tau = 1.5, mean reduction as in the authors' script; k_c = the count
//       of label c in the batch, or the authors' k_c = B/2 for every class), and scored both by
//       plain argmax and by the calibrated argmax of logits/τ − λ_c (hs_calibrated_argmax_f32,
//       see `Rule` below),
// for several batch sizes and seeds. A seed fixes the initial weights and the order of the
// mini-batches, and is shared by both losses, so that the comparison is paired. It prints the
// best test accuracy per loss and batch size (mean ± std over seeds), the difference HS − CE
// with a paired t-test, and writes an SVG plot of accuracy against batch size.
//
// Build (from the repository root, after `cargo build --release -p hypersimplex-ffi`):
//   g++ -std=c++17 -O3 -ffp-contract=off -Iinclude c-examples/train/train.cpp target/release/libhypersimplex.a
//       -lpthread -ldl -lm -o target/demo/train   (one line)
// Run `train --help` for the options.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "hypersimplex.h"

namespace {

constexpr int kFeatures = 64;
constexpr int kClasses = 10;

// ---------------------------------------------------------------- random numbers (portable)

// SplitMix64: the same stream on every platform and standard library.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
    double normal() {  // Box-Muller
        double u1 = uniform(), u2 = uniform();
        if (u1 < 1e-300) u1 = 1e-300;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
    size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// ---------------------------------------------------------------- data

struct Dataset {
    std::vector<float> x;  // n × 64, scaled to [0, 1]
    std::vector<uint32_t> y;
    size_t n() const { return y.size(); }
};

bool load_csv(const std::string &path, Dataset &d) {
    std::ifstream f(path);
    if (!f) return false;
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty()) continue;
        std::stringstream ss(line);
        std::string tok;
        int col = 0;
        float row[kFeatures];
        long label = -1;
        while (std::getline(ss, tok, ',')) {
            long v = std::strtol(tok.c_str(), nullptr, 10);
            if (col == 0) {
                label = v;
            } else if (col <= kFeatures) {
                row[col - 1] = static_cast<float>(v) / 16.0f;
            }
            ++col;
        }
        if (col != kFeatures + 1 || label < 0 || label >= kClasses) {
            std::fprintf(stderr, "%s: malformed line: %s\n", path.c_str(), line.c_str());
            return false;
        }
        d.y.push_back(static_cast<uint32_t>(label));
        d.x.insert(d.x.end(), row, row + kFeatures);
    }
    return d.n() > 0;
}

// ---------------------------------------------------------------- model

struct Mlp {
    int h;
    // All parameters: W1 (64×h, input-major), b1 (h), W2 (h×10, hidden-major), b2 (10). The
    // input-major layouts make every inner loop an axpy over contiguous memory, which compilers
    // vectorize without reassociating sums (so results do not depend on the vector width).
    std::vector<float> p;
    float *w1() { return p.data(); }
    float *b1() { return p.data() + h * kFeatures; }
    float *w2() { return b1() + h; }
    float *b2() { return w2() + kClasses * h; }
    const float *w1() const { return p.data(); }
    const float *b1() const { return p.data() + h * kFeatures; }
    const float *w2() const { return b1() + h; }
    const float *b2() const { return w2() + kClasses * h; }
    static size_t size(int h) { return size_t(h) * kFeatures + h + size_t(kClasses) * h + kClasses; }

    // He-normal W1, W2 ~ N(0, 1/h), zero biases.
    Mlp(int hidden, Rng &rng) : h(hidden), p(size(hidden), 0.0f) {
        const double s1 = std::sqrt(2.0 / kFeatures), s2 = std::sqrt(1.0 / hidden);
        for (int i = 0; i < h * kFeatures; ++i) w1()[i] = static_cast<float>(s1 * rng.normal());
        for (int i = 0; i < kClasses * h; ++i) w2()[i] = static_cast<float>(s2 * rng.normal());
    }

    // hidden = relu(x W1 + b1) (b × h), logits = hidden W2 + b2 (b × 10)
    void forward(const float *x, size_t b, float *hidden, float *logits) const {
        for (size_t i = 0; i < b; ++i) {
            const float *xi = x + i * kFeatures;
            float *hi = hidden + i * h;
            std::memcpy(hi, b1(), sizeof(float) * h);
            for (int f = 0; f < kFeatures; ++f) {
                const float xf = xi[f];
                if (xf == 0.0f) continue;  // about half the pixels are blank
                const float *w = w1() + f * h;
                for (int j = 0; j < h; ++j) hi[j] += xf * w[j];
            }
            for (int j = 0; j < h; ++j) hi[j] = hi[j] > 0.0f ? hi[j] : 0.0f;
            float *li = logits + i * kClasses;
            std::memcpy(li, b2(), sizeof(float) * kClasses);
            for (int j = 0; j < h; ++j) {
                const float hj = hi[j];
                if (hj == 0.0f) continue;
                const float *w = w2() + j * kClasses;
                for (int c = 0; c < kClasses; ++c) li[c] += hj * w[c];
            }
        }
    }

    // Gradient of the loss w.r.t. all parameters (into g, same layout as p) from dlogits.
    void backward(const float *x, size_t b, const float *hidden, const float *dlogits, float *dhid,
                  float *g) const {
        std::fill(g, g + p.size(), 0.0f);
        float *gw1 = g, *gb1 = g + h * kFeatures, *gw2 = gb1 + h, *gb2 = gw2 + kClasses * h;
        for (size_t i = 0; i < b; ++i) {
            const float *hi = hidden + i * h;
            const float *di = dlogits + i * kClasses;
            float *dh = dhid + i * h;
            for (int c = 0; c < kClasses; ++c) gb2[c] += di[c];
            for (int j = 0; j < h; ++j) {
                const float hj = hi[j];
                if (hj <= 0.0f) {  // ReLU gate (and nothing to add to gw2)
                    dh[j] = 0.0f;
                    continue;
                }
                float *gw = gw2 + j * kClasses;
                const float *w = w2() + j * kClasses;
                float s = 0.0f;
                for (int c = 0; c < kClasses; ++c) {
                    gw[c] += hj * di[c];
                    s += di[c] * w[c];
                }
                dh[j] = s;
            }
            for (int j = 0; j < h; ++j) gb1[j] += dh[j];
            const float *xi = x + i * kFeatures;
            for (int f = 0; f < kFeatures; ++f) {
                const float xf = xi[f];
                if (xf == 0.0f) continue;
                float *gw = gw1 + f * h;
                for (int j = 0; j < h; ++j) gw[j] += xf * dh[j];
            }
        }
    }
};

struct Adam {
    float lr, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    std::vector<float> m, v;
    long t = 0;
    Adam(size_t n, float lr_) : lr(lr_), m(n, 0.0f), v(n, 0.0f) {}
    void step(std::vector<float> &p, const std::vector<float> &g) {
        ++t;
        const float c1 = 1.0f - std::pow(b1, static_cast<float>(t));
        const float c2 = 1.0f - std::pow(b2, static_cast<float>(t));
        for (size_t i = 0; i < p.size(); ++i) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            p[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
        }
    }
};

// ---------------------------------------------------------------- losses

// Softmax cross-entropy, mean over the batch; writes dL/dlogits.
float cross_entropy(const float *logits, const uint32_t *labels, size_t b, float *grad) {
    double loss = 0.0;
    for (size_t i = 0; i < b; ++i) {
        const float *l = logits + i * kClasses;
        float mx = l[0];
        for (int c = 1; c < kClasses; ++c) mx = std::max(mx, l[c]);
        double z = 0.0;
        for (int c = 0; c < kClasses; ++c) z += std::exp(double(l[c] - mx));
        loss += std::log(z) - double(l[labels[i]] - mx);
        for (int c = 0; c < kClasses; ++c) {
            double pc = std::exp(double(l[c] - mx)) / z;
            grad[i * kClasses + c] = static_cast<float>((pc - (c == int(labels[i]) ? 1.0 : 0.0)) / b);
        }
    }
    return static_cast<float>(loss / b);
}

// Independent reference of the multiclass HyperSimplex loss (mean reduction) in double, used
// only by --check to test the library: per class column, λ by bisection on
// Σ clip(x/τ − λ, 0, 1) = k, then p = clip(x/τ − λ, 0, 1), L = Σ (p − y)² / (B·C), and
// ∂L/∂x_i = (2/(B·C)) (1/τ) (r_i − mean_{j∈A} r_j) on A = {0 < p < 1}, 0 elsewhere.
double reference_hs_mean(const std::vector<float> &x, const std::vector<uint32_t> &labels, size_t b,
                         const double *kper, double tau, std::vector<double> &grad) {
    grad.assign(b * kClasses, 0.0);
    double loss = 0.0;
    const double scale = 2.0 / (double(b) * kClasses);
    for (int c = 0; c < kClasses; ++c) {
        double k = 0.0;
        if (kper) {
            k = kper[c];
        } else {
            for (size_t i = 0; i < b; ++i) k += labels[i] == uint32_t(c);
        }
        std::vector<double> v(b), p(b);
        double lo = 1e300, hi = -1e300;
        for (size_t i = 0; i < b; ++i) {
            v[i] = double(x[i * kClasses + c]) / tau;
            lo = std::min(lo, v[i]);
            hi = std::max(hi, v[i]);
        }
        lo -= 1.0;  // f(lo) = b >= k,  f(hi) = 0 <= k
        for (int it = 0; it < 200; ++it) {
            double mid = 0.5 * (lo + hi), s = 0.0;
            for (size_t i = 0; i < b; ++i) s += std::min(1.0, std::max(0.0, v[i] - mid));
            (s > k ? lo : hi) = mid;
        }
        const double lam = 0.5 * (lo + hi);
        double rsum = 0.0;
        size_t nfree = 0;
        std::vector<double> r(b);
        for (size_t i = 0; i < b; ++i) {
            p[i] = std::min(1.0, std::max(0.0, v[i] - lam));
            r[i] = p[i] - (labels[i] == uint32_t(c) ? 1.0 : 0.0);
            loss += r[i] * r[i];
            if (p[i] > 1e-9 && p[i] < 1.0 - 1e-9) {
                rsum += r[i];
                ++nfree;
            }
        }
        for (size_t i = 0; i < b; ++i) {
            if (p[i] > 1e-9 && p[i] < 1.0 - 1e-9) {
                grad[i * kClasses + c] = scale / tau * (r[i] - rsum / double(nfree));
            }
        }
    }
    return loss / (double(b) * kClasses);
}

// ---------------------------------------------------------------- experiment

enum class Loss { Ce, HsCounts, HsHalf };
const char *loss_name(Loss l) {
    switch (l) {
        case Loss::Ce: return "CE";
        case Loss::HsCounts: return "HS k=counts";
        case Loss::HsHalf: return "HS k=B/2";
    }
    return "?";
}

struct Config {
    std::string data_dir = "data";
    std::vector<size_t> batches = {16, 64, 256, 0};  // 0 = the whole training set
    int seeds = 5;
    int epochs = 150;
    float lr = 1e-2f;
    int hidden = 64;
    float tau = 1.5f;
    std::string k = "both";  // counts | half | both
    int threads = 2;
    std::string svg = "target/demo/accuracy_vs_batch.svg";
    bool val = false;
    bool check = false;
};

// Prediction rules, evaluated on the same trained weights after every epoch (issue 18):
//   Plain:    argmax_c logits[c];
//   Running:  argmax_c logits[c]/τ − λ̄_c (hs_calibrated_argmax_f32), λ̄ a running mean of the
//             batches' λ_c that hs_hypersimplex_loss_multiclass_lambda_f32 reports in training
//             (momentum 0.1, as batch normalization keeps running statistics; a class absent from
//             the batch under k = counts has k_c = 0 and an arbitrary λ_c, so it is skipped);
//   TrainSet: the same with the exact λ_c of the whole training set (its logits after the epoch,
//             with the loss's own k rule: label counts, or N/2), one extra library call per epoch.
// Cross-entropy has no λ: only Plain applies.
enum Rule { Plain, Running, TrainSet, kRules };
const char *rule_name(int r) {
    switch (r) {
        case Plain: return "argmax";
        case Running: return "calibrated, running λ";
        case TrainSet: return "calibrated, training-set λ";
    }
    return "?";
}

struct Job {
    Loss loss;
    size_t batch;
    int seed;
    double best[kRules] = {}, last[kRules] = {};
    int best_epoch[kRules] = {};
    double seconds = 0.0;
    int32_t status = 0;
};

// Test accuracy of pred against labels.
double accuracy(const std::vector<uint32_t> &pred, const std::vector<uint32_t> &y) {
    size_t correct = 0;
    for (size_t i = 0; i < y.size(); ++i) correct += pred[i] == y[i];
    return y.empty() ? 0.0 : double(correct) / double(y.size());
}

// Trains one model; returns the best test accuracy over the epochs (evaluated after each).
void run_job(const Config &cfg, const Dataset &train, const Dataset &test, Job &job) {
    auto t0 = std::chrono::steady_clock::now();
    Rng rng(0x5EED0000ull + uint64_t(job.seed) * 7919u);
    Mlp net(cfg.hidden, rng);
    Adam opt(net.p.size(), cfg.lr);
    const size_t n = train.n(), bmax = std::min(job.batch, n);
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::vector<float> xb(bmax * kFeatures), hid(bmax * cfg.hidden), dhid(bmax * cfg.hidden),
        logits(bmax * kClasses), dlogits(bmax * kClasses), g(net.p.size());
    std::vector<uint32_t> yb(bmax);
    std::vector<double> khalf(kClasses);
    std::vector<float> thid(test.n() * cfg.hidden), tlog(test.n() * kClasses);
    const bool hs = job.loss != Loss::Ce;
    // λ bookkeeping (HS only): the batch's λ, the running mean, the training set's λ
    double lam[kClasses] = {}, lam_run[kClasses] = {}, lam_set[kClasses] = {};
    bool lam_seen[kClasses] = {};
    std::vector<float> shid(hs ? n * cfg.hidden : 0), slog(hs ? n * kClasses : 0), sgrad(hs ? n * kClasses : 0);
    std::vector<double> kset(kClasses, 0.5 * double(n));
    std::vector<uint32_t> pred(test.n());
    for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
        for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
        for (size_t start = 0; start < n; start += bmax) {
            const size_t b = std::min(bmax, n - start);  // the last batch may be smaller
            for (size_t i = 0; i < b; ++i) {
                const size_t s = order[start + i];
                std::memcpy(&xb[i * kFeatures], &train.x[s * kFeatures], sizeof(float) * kFeatures);
                yb[i] = train.y[s];
            }
            net.forward(xb.data(), b, hid.data(), logits.data());
            float loss = 0.0f;
            if (job.loss == Loss::Ce) {
                loss = cross_entropy(logits.data(), yb.data(), b, dlogits.data());
            } else {
                const double *k = nullptr;  // NULL: k_c = count of label c in this batch
                if (job.loss == Loss::HsHalf) {
                    std::fill(khalf.begin(), khalf.end(), 0.5 * double(b));
                    k = khalf.data();
                }
                const int32_t st = hs_hypersimplex_loss_multiclass_lambda_f32(
                    logits.data(), yb.data(), b, kClasses, k, cfg.tau, HS_REDUCTION_MEAN, &loss,
                    dlogits.data(), lam);
                if (st != HS_OK) {
                    job.status = st;
                    return;
                }
                bool present[kClasses] = {};
                for (size_t i = 0; i < b; ++i) present[yb[i]] = true;
                for (int c = 0; c < kClasses; ++c) {
                    if (job.loss == Loss::HsCounts && !present[c]) continue;  // k_c = 0: λ_c arbitrary
                    lam_run[c] = lam_seen[c] ? 0.9 * lam_run[c] + 0.1 * lam[c] : lam[c];
                    lam_seen[c] = true;
                }
            }
            (void)loss;
            net.backward(xb.data(), b, hid.data(), dlogits.data(), dhid.data(), g.data());
            opt.step(net.p, g);
        }
        net.forward(test.x.data(), test.n(), thid.data(), tlog.data());
        for (size_t i = 0; i < test.n(); ++i) {
            const float *l = &tlog[i * kClasses];
            pred[i] = uint32_t(std::max_element(l, l + kClasses) - l);
        }
        job.last[Plain] = accuracy(pred, test.y);
        if (hs) {
            // the training set's exact λ: its logits now, projected with the loss's k rule
            net.forward(train.x.data(), n, shid.data(), slog.data());
            float set_loss = 0.0f;
            int32_t st = hs_hypersimplex_loss_multiclass_lambda_f32(
                slog.data(), train.y.data(), n, kClasses, job.loss == Loss::HsHalf ? kset.data() : nullptr, cfg.tau,
                HS_REDUCTION_MEAN, &set_loss, sgrad.data(), lam_set);
            const double *lams[] = {lam_run, lam_set};
            for (int r = Running; r <= TrainSet && st == HS_OK; ++r) {
                st = hs_calibrated_argmax_f32(tlog.data(), test.n(), kClasses, lams[r - Running], cfg.tau, pred.data());
                job.last[r] = accuracy(pred, test.y);
            }
            if (st != HS_OK) {
                job.status = st;
                return;
            }
        }
        for (int r = 0; r < (hs ? int(kRules) : 1); ++r)
            if (job.last[r] > job.best[r]) {
                job.best[r] = job.last[r];
                job.best_epoch[r] = epoch;
            }
    }
    job.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Two-sided p-value of Student's t with df degrees of freedom (Simpson integration of the pdf).
double t_pvalue(double t, int df) {
    if (!std::isfinite(t)) return 0.0;
    const double a = std::fabs(t), nu = df;
    const double logc = std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * std::log(nu * 3.14159265358979323846);
    auto pdf = [&](double u) { return std::exp(logc - (nu + 1) / 2 * std::log1p(u * u / nu)); };
    const int m = 4000;
    const double hstep = a / m;
    double s = pdf(0) + pdf(a);
    for (int i = 1; i < m; ++i) s += (i % 2 ? 4 : 2) * pdf(i * hstep);
    const double central = s * hstep / 3;  // ∫_0^a pdf
    return std::max(0.0, 1.0 - 2.0 * central);
}

struct Stat {
    double mean = 0, sd = 0;
};
Stat stat(const std::vector<double> &v) {
    Stat s;
    for (double x : v) s.mean += x;
    s.mean /= v.size();
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = v.size() > 1 ? std::sqrt(s.sd / (v.size() - 1)) : 0.0;
    return s;
}

// ---------------------------------------------------------------- SVG plot

struct Series {
    std::string name, color, dash;
    std::vector<Stat> pts;
};

bool write_svg(const std::string &path, const std::vector<size_t> &xs, const std::vector<Series> &series,
               const std::string &subtitle) {
    const double W = 820, H = 470, L = 80, R = 260, T = 60, B = 60;
    const double pw = W - L - R, ph = H - T - B;
    double ylo = 1e9, yhi = -1e9;
    for (auto &s : series)
        for (auto &p : s.pts) {
            ylo = std::min(ylo, p.mean - p.sd);
            yhi = std::max(yhi, p.mean + p.sd);
        }
    const double span = std::max(yhi - ylo, 0.004);
    double step = 0.001;
    for (double c : {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1})
        if (span / c <= 8) {
            step = c;
            break;
        }
    ylo = std::floor((ylo - 0.05 * span) / step) * step;
    yhi = std::ceil((yhi + 0.05 * span) / step) * step;
    const double xlo = std::log(double(xs.front()) / 1.5), xhi = std::log(double(xs.back()) * 1.5);
    auto X = [&](double b) { return L + (std::log(b) - xlo) / (xhi - xlo) * pw; };
    auto Y = [&](double a) { return T + (yhi - a) / (yhi - ylo) * ph; };
    std::ofstream f(path);
    if (!f) return false;
    char buf[512];
    f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
      << "\" viewBox=\"0 0 " << W << ' ' << H << "\" font-family=\"sans-serif\" font-size=\"13\">\n";
    f << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    f << "<text x=\"" << L + pw / 2 << "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">"
      << "Best test accuracy vs batch size (optical digits, MLP)</text>\n";
    f << "<text x=\"" << L + pw / 2 << "\" y=\"44\" text-anchor=\"middle\" fill=\"#555\">" << subtitle
      << "</text>\n";
    // grid and y ticks
    for (double a = ylo; a <= yhi + step / 2; a += step) {
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>\n",
                      L, Y(a), L + pw, Y(a), L - 6, Y(a) + 4, a);
        f << buf;
    }
    for (size_t b : xs) {
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%zu</text>\n",
                      X(b), T, X(b), T + ph, X(b), T + ph, X(b), T + ph + 5, X(b), T + ph + 20, b);
        f << buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n"
                  "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">batch size (log scale)</text>\n"
                  "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">"
                  "best test accuracy (mean &#177; std over seeds)</text>\n",
                  L, T, pw, ph, L + pw / 2, H - 15, 22.0, T + ph / 2);
    f << buf;
    for (size_t si = 0; si < series.size(); ++si) {
        const Series &s = series[si];
        const double off = (double(si) - (series.size() - 1) / 2.0) * 5.0;  // dodge error bars
        std::string pts;
        for (size_t i = 0; i < xs.size(); ++i) {
            const double x = X(double(xs[i])) + off;
            const Stat &p = s.pts[i];
            std::snprintf(buf, sizeof buf,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n"
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
                          x, Y(p.mean - p.sd), x, Y(p.mean + p.sd), s.color.c_str(), x - 4,
                          Y(p.mean - p.sd), x + 4, Y(p.mean - p.sd), s.color.c_str(), x - 4,
                          Y(p.mean + p.sd), x + 4, Y(p.mean + p.sd), s.color.c_str(), x, Y(p.mean),
                          s.color.c_str());
            f << buf;
            std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x, Y(p.mean));
            pts += buf;
        }
        f << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\""
          << (s.dash.empty() ? "" : " stroke-dasharray=\"" + s.dash + "\"") << " points=\"" << pts
          << "\"/>\n";
        const double ly = T + 14 + 22 * si, lx = L + pw + 16;
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"%s/>\n"
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n"
                      "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                      lx, ly, lx + 30, ly, s.color.c_str(),
                      s.dash.empty() ? "" : (" stroke-dasharray=\"" + s.dash + "\"").c_str(), lx + 15, ly,
                      s.color.c_str(), lx + 38, ly + 4, s.name.c_str());
        f << buf;
    }
    f << "</svg>\n";
    return bool(f);
}

// ---------------------------------------------------------------- --check

// Compares the library's loss and gradient with reference_hs_mean on random batches.
int self_check() {
    Rng rng(42);
    int bad = 0;
    for (size_t b : {1, 2, 7, 64, 300}) {
        for (int mode = 0; mode < 2; ++mode) {
            std::vector<float> x(b * kClasses), grad(b * kClasses);
            std::vector<uint32_t> y(b);
            for (auto &v : x) v = static_cast<float>(3.0 * rng.normal());
            for (auto &v : y) v = static_cast<uint32_t>(rng.below(kClasses));
            if (b >= 7) x[3] = x[5] = 0.0f;  // a tie
            std::vector<double> kh(kClasses, 0.5 * double(b));
            const double *k = mode ? kh.data() : nullptr;
            float loss = -1.0f;
            const int32_t st =
                hs_hypersimplex_loss_multiclass_f32(x.data(), y.data(), b, kClasses, k, 1.5f, HS_REDUCTION_MEAN, &loss,
                                                    grad.data());
            std::vector<double> rg;
            const double rl = reference_hs_mean(x, y, b, k, 1.5, rg);
            double gerr = 0.0;
            for (size_t i = 0; i < grad.size(); ++i) gerr = std::max(gerr, std::fabs(grad[i] - rg[i]));
            const bool ok = st == HS_OK && std::fabs(loss - rl) <= 1e-5 * (1 + rl) && gerr <= 1e-5;
            std::printf("%s batch=%zu k=%s: status %d, loss %.7f (reference %.7f), max |grad - ref| %.2e\n",
                        ok ? "PASS" : "FAIL", b, mode ? "B/2" : "counts", st, loss, rl, gerr);
            bad += !ok;
        }
    }
    // An error comes back as a status with a message, and leaves the outputs untouched.
    uint32_t badlabel[2] = {0, 10};
    float x[20] = {0}, g[20], loss = 123.0f;
    for (float &v : g) v = 7.0f;
    const int32_t st = hs_hypersimplex_loss_multiclass_f32(x, badlabel, 2, kClasses, nullptr, 1.5f, HS_REDUCTION_MEAN, &loss, g);
    const bool ok = st == HS_ERR_LABEL_OUT_OF_RANGE && loss == 123.0f && g[0] == 7.0f && hs_status_message(st) != nullptr;
    std::printf("%s label out of range: status %d (%s), outputs untouched\n", ok ? "PASS" : "FAIL", st,
                hs_status_message(st));
    bad += !ok;
    return bad ? 1 : 0;
}

void usage() {
    std::printf(
        "usage: train [options]\n"
        "  --data DIR       directory with digits_train.csv and digits_test.csv (default data)\n"
        "  --batches LIST   comma-separated batch sizes, 0 or 'full' = whole training set (default 16,64,256,full)\n"
        "  --seeds N        seeds per configuration (default 5)\n"
        "  --epochs N       epochs per run; best test accuracy over them is reported (default 150)\n"
        "  --lr X           Adam learning rate, the same for both losses (default 0.01)\n"
        "  --hidden N       hidden units (default 64)\n"
        "  --tau X          HyperSimplex temperature (default 1.5)\n"
        "  --k MODE         counts (k_c = label counts in the batch), half (k_c = B/2), both (default)\n"
        "  --threads N      worker threads (default 2)\n"
        "  --svg PATH       plot file (default target/demo/accuracy_vs_batch.svg)\n"
        "  --val            hold out every 5th training sample as validation set and report on it\n"
        "                   instead of the test set (for choosing the learning rate)\n"
        "  --check          compare the library's loss/gradient with a reference and exit\n");
}

}  // namespace

int main(int argc, char **argv) {
    Config cfg;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            auto need = [&]() -> std::string {
                if (i + 1 >= argc) {
                    std::fprintf(stderr, "missing value for %s\n", a.c_str());
                    std::exit(2);
                }
                return argv[++i];
            };
            if (a == "--data") cfg.data_dir = need();
            else if (a == "--batches") {
                cfg.batches.clear();
                std::stringstream ss(need());
                std::string t;
                while (std::getline(ss, t, ',')) cfg.batches.push_back(t == "full" ? 0 : std::stoul(t));
            } else if (a == "--seeds") cfg.seeds = std::stoi(need());
            else if (a == "--epochs") cfg.epochs = std::stoi(need());
            else if (a == "--lr") cfg.lr = std::stof(need());
            else if (a == "--hidden") cfg.hidden = std::stoi(need());
            else if (a == "--tau") cfg.tau = std::stof(need());
            else if (a == "--k") cfg.k = need();
            else if (a == "--threads") cfg.threads = std::stoi(need());
            else if (a == "--svg") cfg.svg = need();
            else if (a == "--val") cfg.val = true;
            else if (a == "--check") cfg.check = true;
            else if (a == "--help" || a == "-h") {
                usage();
                return 0;
            } else {
                std::fprintf(stderr, "unknown option %s\n", a.c_str());
                usage();
                return 2;
            }
        }
    } catch (const std::exception &) {  // std::stoi & co. on a malformed number
        std::fprintf(stderr, "bad option value\n");
        return 2;
    }
    if (cfg.check) return self_check();
    if (cfg.k != "counts" && cfg.k != "half" && cfg.k != "both") {
        std::fprintf(stderr, "--k must be counts, half or both\n");
        return 2;
    }
    if (cfg.seeds < 1 || cfg.epochs < 1 || cfg.hidden < 1 || cfg.threads < 1 || cfg.batches.empty()) {
        std::fprintf(stderr, "bad option value\n");
        return 2;
    }

    Dataset train, test;
    if (!load_csv(cfg.data_dir + "/digits_train.csv", train) || !load_csv(cfg.data_dir + "/digits_test.csv", test)) {
        std::fprintf(stderr, "cannot read %s/digits_{train,test}.csv (run from the repository root or pass --data)\n",
                     cfg.data_dir.c_str());
        return 1;
    }
    if (cfg.val) {  // every 5th training sample becomes the evaluation set; the test set is unused
        Dataset tr, va;
        for (size_t i = 0; i < train.n(); ++i) {
            Dataset &d = i % 5 == 4 ? va : tr;
            d.y.push_back(train.y[i]);
            d.x.insert(d.x.end(), &train.x[i * kFeatures], &train.x[(i + 1) * kFeatures]);
        }
        train = tr;
        test = va;
    }
    for (auto &b : cfg.batches)
        if (b == 0 || b > train.n()) b = train.n();
    std::sort(cfg.batches.begin(), cfg.batches.end());
    cfg.batches.erase(std::unique(cfg.batches.begin(), cfg.batches.end()), cfg.batches.end());

    std::vector<Loss> losses = {Loss::Ce};
    if (cfg.k != "half") losses.push_back(Loss::HsCounts);
    if (cfg.k != "counts") losses.push_back(Loss::HsHalf);

    std::printf("hypersimplex %s | optical digits: %zu train, %zu %s | MLP 64-%d-10 ReLU, Adam lr %g, %d epochs\n",
                hs_version(), train.n(), test.n(), cfg.val ? "validation" : "test", cfg.hidden, double(cfg.lr),
                cfg.epochs);
    std::printf("losses: CE%s%s (tau %g, mean reduction) | batches:", cfg.k != "half" ? ", HS k_c=label counts" : "",
                cfg.k != "counts" ? ", HS k_c=B/2" : "", double(cfg.tau));
    for (size_t b : cfg.batches) std::printf(" %zu", b);
    std::printf(" | %d seeds | %d threads\n", cfg.seeds, cfg.threads);

    // Seed-major order, so that the progress lines cover every configuration early.
    std::vector<Job> jobs;
    for (int s = 0; s < cfg.seeds; ++s)
        for (size_t b : cfg.batches)
            for (Loss l : losses) jobs.push_back(Job{l, b, s});

    std::atomic<size_t> next{0}, done{0};
    std::mutex mu;
    const auto t0 = std::chrono::steady_clock::now();
    auto worker = [&]() {
        for (size_t j; (j = next.fetch_add(1)) < jobs.size();) {
            run_job(cfg, train, test, jobs[j]);
            std::lock_guard<std::mutex> lock(mu);
            const size_t d = ++done;
            const Job &r = jobs[j];
            const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (r.status != 0) {
                std::printf("[%3zu/%zu] %-11s B=%-5zu seed %d: library error %d: %s\n", d, jobs.size(),
                            loss_name(r.loss), r.batch, r.seed, r.status, hs_status_message(r.status));
            } else {
                std::printf("[%3zu/%zu] %6.1fs  %-11s B=%-5zu seed %d: best acc %.4f (epoch %3d), last %.4f", d,
                            jobs.size(), el, loss_name(r.loss), r.batch, r.seed, r.best[Plain], r.best_epoch[Plain],
                            r.last[Plain]);
                if (r.loss != Loss::Ce)
                    std::printf("; calibrated best %.4f / %.4f", r.best[Running], r.best[TrainSet]);
                std::printf("\n");
            }
            std::fflush(stdout);
        }
    };
    std::vector<std::thread> pool;
    for (int t = 0; t < cfg.threads; ++t) pool.emplace_back(worker);
    for (auto &t : pool) t.join();
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const Job &j : jobs)
        if (j.status != 0) return 1;

    auto collect = [&](Loss l, size_t b, int rule) {
        std::vector<double> v(cfg.seeds);
        for (const Job &j : jobs)
            if (j.loss == l && j.batch == b) v[j.seed] = j.best[rule];
        return v;
    };
    // "Δ (t, p)" of a paired t-test of hs − ce over seeds
    auto paired = [&](const std::vector<double> &ce, const std::vector<double> &hs) {
        std::vector<double> d(cfg.seeds);
        for (int s = 0; s < cfg.seeds; ++s) d[s] = hs[s] - ce[s];
        Stat sd = stat(d);
        if (std::fabs(sd.mean) < 1e-12) sd.mean = 0.0;  // print +0.0000, not -0.0000
        char buf[96];
        if (cfg.seeds > 1 && sd.sd > 0) {
            const double t = sd.mean / (sd.sd / std::sqrt(double(cfg.seeds)));
            const double p = t_pvalue(t, cfg.seeds - 1);
            char pbuf[16] = "<0.01";
            if (p >= 0.01) std::snprintf(pbuf, sizeof pbuf, "%.3f", p);
            std::snprintf(buf, sizeof buf, "%+.4f | %.2f | %s", sd.mean, t, pbuf);
        } else {
            std::snprintf(buf, sizeof buf, "%+.4f | n/a | n/a", sd.mean);
        }
        return std::string(buf);
    };
    const char *what = cfg.val ? "validation" : "test";
    std::printf("\nTraining took %.1f s. Best %s accuracy over %d epochs, mean ± std over %d seeds;\n"
                "Δ = HS − CE with its paired t-test over seeds (df = %d). HS rows: the same trained\n"
                "networks, predicted by plain argmax and by the calibrated argmax of logits/τ − λ_c.\n",
                total, what, cfg.epochs, cfg.seeds, cfg.seeds - 1);
    for (Loss l : losses) {
        if (l == Loss::Ce) continue;
        std::printf("\n%s (tau %g):\n\n", l == Loss::HsCounts ? "HS with k_c = count of label c in the batch"
                                                                : "HS with k_c = B/2 (the authors' script)",
                    double(cfg.tau));
        std::printf("| batch | prediction | CE | HS (ours) | Δ | t-stat | p-val |\n"
                    "|---:|---|---|---|---:|---:|---:|\n");
        for (size_t b : cfg.batches) {
            const auto ce = collect(Loss::Ce, b, Plain);
            const Stat sc = stat(ce);
            for (int r = 0; r < kRules; ++r) {
                const auto hs = collect(l, b, r);
                const Stat sh = stat(hs);
                std::printf("| %zu | %s | %.4f ± %.4f | %.4f ± %.4f | %s |\n", b, rule_name(r), sc.mean, sc.sd,
                            sh.mean, sh.sd, paired(ce, hs).c_str());
            }
        }
    }

    // plot: CE, then each HS loss with plain and running-λ calibrated prediction
    std::vector<Series> series;
    for (Loss l : losses) {
        for (int r : {int(Plain), int(Running)}) {
            if (l == Loss::Ce && r != Plain) continue;
            Series s;
            s.name = l == Loss::Ce ? "Cross-entropy" : (l == Loss::HsCounts ? "HS, k = counts" : "HS, k = B/2");
            if (l != Loss::Ce) s.name += r == Plain ? ", argmax" : ", calibrated";
            s.color = l == Loss::Ce ? "#1f77b4" : (l == Loss::HsCounts ? "#d62728" : "#2ca02c");
            s.dash = r == Plain ? "" : "6,4";
            for (size_t b : cfg.batches) s.pts.push_back(stat(collect(l, b, r)));
            series.push_back(s);
        }
    }
    char sub[200];
    std::snprintf(sub, sizeof sub, "MLP 64-%d-10, Adam %g, %d epochs, tau %g, %d seeds (%s set)", cfg.hidden,
                  double(cfg.lr), cfg.epochs, double(cfg.tau), cfg.seeds, what);
    if (!write_svg(cfg.svg, cfg.batches, series, sub)) {
        std::fprintf(stderr, "cannot write %s\n", cfg.svg.c_str());
        return 1;
    }
    std::printf("\nPlot: %s\n", cfg.svg.c_str());
    return 0;
}
