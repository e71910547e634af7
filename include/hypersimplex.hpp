// hypersimplex.hpp: header-only C++ interface over hypersimplex.h (C++11 and later).
//
// Namespace hs. Every function checks the C status and throws hs::error (a std::runtime_error
// with the status and the library's message) on failure; outputs are then untouched, as in C.
// Function templates for float, double and the half-precision storage types hs::bf16 and
// hs::f16 (computed in float; tau and the losses are then float) over pointer + size; under
// C++20 also std::span overloads (non-template, so std::vector and std::array convert). The header allocates no
// buffers (only an exception's message string, when one is thrown).
//
//   #include <hypersimplex.hpp>
//   std::vector<float> x = {1.2f, -0.3f, 0.8f}, y(3);
//   hs::soft_binary_argmax(x.data(), x.size(), 1.0, 0.5f, y.data());   // y = Π_Δ(3,1)(x/0.5)
//
// The mathematics and every contract are documented in hypersimplex.h.
#ifndef HYPERSIMPLEX_HPP
#define HYPERSIMPLEX_HPP

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "hypersimplex.h"

#if __cplusplus >= 202002L
#include <span>
#endif

namespace hs {

/// A non-zero status of the C library.
class error : public std::runtime_error {
public:
    explicit error(int32_t status) : std::runtime_error(hs_status_message(status)), status_(status) {}
    /// The HS_ERR_* status.
    int32_t status() const noexcept { return status_; }

private:
    int32_t status_;
};

/// Throws hs::error unless status is HS_OK.
inline void check(int32_t status) {
    if (status != HS_OK) throw error(status);
}

/// The library version, "MAJOR.MINOR.PATCH".
inline const char *version() noexcept { return hs_version(); }

/// Sets the size of the library's thread pool (0 = default, 1 = the calling thread only).
inline void set_num_threads(std::size_t n) { check(hs_set_num_threads(n)); }
/// The size of the library's thread pool.
inline std::size_t num_threads() noexcept { return hs_get_num_threads(); }

namespace detail {
// One overload per element type: the templates below dispatch on T.
inline int32_t sba(const float *x, std::size_t n, double k, float tau, float *y) {
    return hs_soft_binary_argmax_f32(x, n, k, tau, y);
}
inline int32_t sba(const double *x, std::size_t n, double k, double tau, double *y) {
    return hs_soft_binary_argmax_f64(x, n, k, tau, y);
}
inline int32_t vjp(const float *y, const float *g, std::size_t n, float tau, float *o) {
    return hs_soft_binary_argmax_vjp_f32(y, g, n, tau, o);
}
inline int32_t vjp(const double *y, const double *g, std::size_t n, double tau, double *o) {
    return hs_soft_binary_argmax_vjp_f64(y, g, n, tau, o);
}
inline int32_t topk(const float *x, std::size_t n, std::size_t k, float *y) {
    return hs_binary_argmax_f32(x, n, k, y);
}
inline int32_t topk(const double *x, std::size_t n, std::size_t k, double *y) {
    return hs_binary_argmax_f64(x, n, k, y);
}
inline int32_t topk_rows(const float *x, std::size_t r, std::size_t n, const std::size_t *k,
                         float *y) {
    return hs_binary_argmax_rows_f32(x, r, n, k, y);
}
inline int32_t topk_rows(const double *x, std::size_t r, std::size_t n, const std::size_t *k,
                         double *y) {
    return hs_binary_argmax_rows_f64(x, r, n, k, y);
}
inline int32_t rows(const float *x, std::size_t r, std::size_t n, const double *k, float tau,
                    float *y) {
    return hs_soft_binary_argmax_rows_f32(x, r, n, k, tau, y);
}
inline int32_t rows(const double *x, std::size_t r, std::size_t n, const double *k, double tau,
                    double *y) {
    return hs_soft_binary_argmax_rows_f64(x, r, n, k, tau, y);
}
inline int32_t vjp_rows(const float *y, const float *g, std::size_t r, std::size_t n, float tau,
                        float *o) {
    return hs_soft_binary_argmax_vjp_rows_f32(y, g, r, n, tau, o);
}
inline int32_t vjp_rows(const double *y, const double *g, std::size_t r, std::size_t n,
                        double tau, double *o) {
    return hs_soft_binary_argmax_vjp_rows_f64(y, g, r, n, tau, o);
}
inline int32_t loss(const float *x, const float *t, std::size_t n, double k, float tau, float *l,
                    float *g) {
    return hs_hypersimplex_loss_f32(x, t, n, k, tau, l, g);
}
inline int32_t loss(const double *x, const double *t, std::size_t n, double k, double tau,
                    double *l, double *g) {
    return hs_hypersimplex_loss_f64(x, t, n, k, tau, l, g);
}
inline int32_t multiclass(const float *x, const uint32_t *lab, std::size_t b, std::size_t c,
                          const double *k, float tau, int32_t red, float *l, float *g) {
    return hs_hypersimplex_loss_multiclass_f32(x, lab, b, c, k, tau, red, l, g);
}
inline int32_t multiclass(const double *x, const uint32_t *lab, std::size_t b, std::size_t c,
                          const double *k, double tau, int32_t red, double *l, double *g) {
    return hs_hypersimplex_loss_multiclass_f64(x, lab, b, c, k, tau, red, l, g);
}
}  // namespace detail

/// bfloat16 data as stored (1 sign, 8 exponent, 7 mantissa bits: the upper half of a float).
/// The library reads and writes the bits and computes in float, each output rounded once to
/// nearest even (hypersimplex.h, hs_soft_binary_argmax_bf16).
struct bf16 {
    uint16_t bits;
};
/// IEEE binary16 data as stored; as hs::bf16 (hs_soft_binary_argmax_f16).
struct f16 {
    uint16_t bits;
};

namespace detail {
// The arithmetic type of tau and of the losses: T itself, float for the half types.
template <class T>
struct scalar {
    typedef T type;
};
template <>
struct scalar<bf16> {
    typedef float type;
};
template <>
struct scalar<f16> {
    typedef float type;
};
// hs::bf16 / hs::f16 arrays as the uint16_t arrays of the C functions (standard-layout structs
// whose only member is the uint16_t: pointer-interconvertible with it).
template <class H>
inline const uint16_t *bits(const H *p) {
    return reinterpret_cast<const uint16_t *>(p);
}
template <class H>
inline uint16_t *bits(H *p) {
    return reinterpret_cast<uint16_t *>(p);
}
#define HS_HALF_DETAIL(H, S)                                                                     \
    inline int32_t sba(const H *x, std::size_t n, double k, float tau, H *y) {                    \
        return hs_soft_binary_argmax_##S(bits(x), n, k, tau, bits(y));                            \
    }                                                                                             \
    inline int32_t vjp(const H *y, const H *g, std::size_t n, float tau, H *o) {                  \
        return hs_soft_binary_argmax_vjp_##S(bits(y), bits(g), n, tau, bits(o));                  \
    }                                                                                             \
    inline int32_t topk(const H *x, std::size_t n, std::size_t k, H *y) {                         \
        return hs_binary_argmax_##S(bits(x), n, k, bits(y));                                      \
    }                                                                                             \
    inline int32_t topk_rows(const H *x, std::size_t r, std::size_t n, const std::size_t *k,     \
                             H *y) {                                                              \
        return hs_binary_argmax_rows_##S(bits(x), r, n, k, bits(y));                              \
    }                                                                                             \
    inline int32_t rows(const H *x, std::size_t r, std::size_t n, const double *k, float tau,     \
                        H *y) {                                                                   \
        return hs_soft_binary_argmax_rows_##S(bits(x), r, n, k, tau, bits(y));                    \
    }                                                                                             \
    inline int32_t vjp_rows(const H *y, const H *g, std::size_t r, std::size_t n, float tau,      \
                            H *o) {                                                               \
        return hs_soft_binary_argmax_vjp_rows_##S(bits(y), bits(g), r, n, tau, bits(o));          \
    }                                                                                             \
    inline int32_t loss(const H *x, const H *t, std::size_t n, double k, float tau, float *l,     \
                        H *g) {                                                                   \
        return hs_hypersimplex_loss_##S(bits(x), bits(t), n, k, tau, l, g ? bits(g) : nullptr);   \
    }                                                                                             \
    inline int32_t multiclass(const H *x, const uint32_t *lab, std::size_t b, std::size_t c,      \
                              const double *k, float tau, int32_t red, float *l, H *g) {          \
        return hs_hypersimplex_loss_multiclass_##S(bits(x), lab, b, c, k, tau, red, l,            \
                                                   g ? bits(g) : nullptr);                        \
    }
HS_HALF_DETAIL(bf16, bf16)
HS_HALF_DETAIL(f16, f16)
#undef HS_HALF_DETAIL
}  // namespace detail

/// y = Soft-Binary-Argmax@k(x/τ), the projection of x/τ onto {y ∈ [0,1]^n : Σy = k}
/// (y == x computes in place).
template <class T>
inline void soft_binary_argmax(const T *x, std::size_t n, double k,
                               typename detail::scalar<T>::type tau, T *y) {
    check(detail::sba(x, n, k, tau, y));
}

/// grad_x = Jᵀg, from the forward output y (grad_x == g computes in place).
template <class T>
inline void soft_binary_argmax_vjp(const T *y, const T *g, std::size_t n,
                                   typename detail::scalar<T>::type tau, T *grad_x) {
    check(detail::vjp(y, g, n, tau, grad_x));
}

/// The hard top-k mask (1 on the k largest entries, ties to the lower index).
template <class T>
inline void binary_argmax(const T *x, std::size_t n, std::size_t k, T *y) {
    check(detail::topk(x, n, k, y));
}

/// The top-k mask of each row of a row-major rows × n matrix, with one k per row (every row is
/// checked before any is written).
template <class T>
inline void binary_argmax_rows(const T *x, std::size_t rows, std::size_t n, const std::size_t *k,
                               T *y) {
    check(detail::topk_rows(x, rows, n, k, y));
}

/// Soft-Binary-Argmax of each row of a row-major rows × n matrix, with one k per row.
template <class T>
inline void soft_binary_argmax_rows(const T *x, std::size_t rows, std::size_t n, const double *k,
                                    typename detail::scalar<T>::type tau, T *y) {
    check(detail::rows(x, rows, n, k, tau, y));
}

/// The VJP of each row.
template <class T>
inline void soft_binary_argmax_vjp_rows(const T *y, const T *g, std::size_t rows, std::size_t n,
                                        typename detail::scalar<T>::type tau, T *grad_x) {
    check(detail::vjp_rows(y, g, rows, n, tau, grad_x));
}

/// Binary HyperSimplex loss ½‖Π(x/τ) − target‖²; its gradient into grad_x unless nullptr.
template <class T>
inline typename detail::scalar<T>::type hypersimplex_loss(const T *x, const T *target,
                                                          std::size_t n, double k,
                                                          typename detail::scalar<T>::type tau,
                                                          T *grad_x = nullptr) {
    typename detail::scalar<T>::type l = 0;
    check(detail::loss(x, target, n, k, tau, &l, grad_x));
    return l;
}

/// Multiclass HyperSimplex loss over batch × classes logits (k: classes values, or nullptr for
/// the label counts; reduction HS_REDUCTION_SUM or HS_REDUCTION_MEAN); gradient into
/// grad_logits unless nullptr.
template <class T>
inline typename detail::scalar<T>::type hypersimplex_loss_multiclass(
    const T *logits, const uint32_t *labels, std::size_t batch, std::size_t classes,
    const double *k, typename detail::scalar<T>::type tau, int32_t reduction,
    T *grad_logits = nullptr) {
    typename detail::scalar<T>::type l = 0;
    check(detail::multiclass(logits, labels, batch, classes, k, tau, reduction, &l, grad_logits));
    return l;
}

#if __cplusplus >= 202002L
// std::span overloads (C++20): lengths from the spans; mismatched lengths throw
// hs::error(HS_ERR_LENGTH_MISMATCH) before anything is written.
namespace detail {
template <class A, class B>
inline void same_size(const A &a, const B &b) {
    if (a.size() != b.size()) throw error(HS_ERR_LENGTH_MISMATCH);
}
}  // namespace detail

#define HS_SPAN_OVERLOADS(T, R)                                                                    \
    inline void soft_binary_argmax(std::span<const T> x, double k, R tau, std::span<T> y) {      \
        detail::same_size(x, y);                                                                  \
        soft_binary_argmax(x.data(), x.size(), k, tau, y.data());                                 \
    }                                                                                             \
    inline void soft_binary_argmax_vjp(std::span<const T> y, std::span<const T> g, R tau,        \
                                       std::span<T> grad_x) {                                     \
        detail::same_size(y, g);                                                                  \
        detail::same_size(y, grad_x);                                                             \
        soft_binary_argmax_vjp(y.data(), g.data(), y.size(), tau, grad_x.data());                 \
    }                                                                                             \
    inline void binary_argmax(std::span<const T> x, std::size_t k, std::span<T> y) {             \
        detail::same_size(x, y);                                                                  \
        binary_argmax(x.data(), x.size(), k, y.data());                                           \
    }                                                                                             \
    inline R hypersimplex_loss(std::span<const T> x, std::span<const T> target, double k, R tau, \
                               std::span<T> grad_x = {}) {                                        \
        detail::same_size(x, target);                                                             \
        if (!grad_x.empty()) detail::same_size(x, grad_x);                                        \
        return hypersimplex_loss(x.data(), target.data(), x.size(), k, tau,                      \
                                 grad_x.empty() ? nullptr : grad_x.data());                       \
    }                                                                                             \
    inline R hypersimplex_loss_multiclass(std::span<const T> logits,                              \
                                          std::span<const uint32_t> labels, std::size_t classes, \
                                          R tau, int32_t reduction, std::span<T> grad = {}) {    \
        if (logits.size() != labels.size() * classes) throw error(HS_ERR_LENGTH_MISMATCH);       \
        if (!grad.empty()) detail::same_size(logits, grad);                                       \
        return hypersimplex_loss_multiclass(logits.data(), labels.data(), labels.size(),         \
                                            classes, nullptr, tau, reduction,                     \
                                            grad.empty() ? nullptr : grad.data());                \
    }
HS_SPAN_OVERLOADS(float, float)
HS_SPAN_OVERLOADS(double, double)
HS_SPAN_OVERLOADS(bf16, float)
HS_SPAN_OVERLOADS(f16, float)
#undef HS_SPAN_OVERLOADS
#endif

}  // namespace hs

#endif  // HYPERSIMPLEX_HPP
