// XLA FFI handlers (CPU) of hypersimplex.jax over the C library shipped in this package
// (hypersimplex/_native/lib_native.so). hypersimplex/jax.py compiles this file with the system
// C++ compiler against the installed jaxlib's headers (jax.ffi.include_dir()) on first use and
// caches the result; see _build() there.
//
// Every handler takes row-major arrays whose last dimension is the vector length n (the
// multiclass one: (..., batch, classes)); the leading dimensions, including those jax.vmap adds,
// are folded into rows, so a vmapped call is one call of the C row functions. float32 and
// float64 (F32/F64 element types), and bfloat16/float16 (BF16/F16: the bits go to the C
// library's uint16_t functions, which compute in float; k as float32, losses as float32); k is
// an array of the element type (float32 for the half types), one value per row.
// A refused call returns an FFI error "hypersimplex error <status>: <hs_status_message>", which
// jax raises as an exception (hypersimplex.jax turns it into HypersimplexError when it can).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

// The C functions used here, as declared in include/hypersimplex.h (the package ships no header;
// scripts/test-python.sh compiles this file with that header force-included, so a declaration that
// differs from it fails the build there).
extern "C" {
int32_t hs_soft_binary_argmax_rows_f32(const float *x, size_t rows, size_t n, const double *k,
                                       float tau, float *y);
int32_t hs_soft_binary_argmax_rows_f64(const double *x, size_t rows, size_t n, const double *k,
                                       double tau, double *y);
int32_t hs_soft_binary_argmax_vjp_rows_f32(const float *y, const float *g, size_t rows, size_t n,
                                           float tau, float *grad_x);
int32_t hs_soft_binary_argmax_vjp_rows_f64(const double *y, const double *g, size_t rows,
                                           size_t n, double tau, double *grad_x);
int32_t hs_binary_argmax_rows_f32(const float *x, size_t rows, size_t n, const size_t *k, float *y);
int32_t hs_binary_argmax_rows_f64(const double *x, size_t rows, size_t n, const size_t *k,
                                  double *y);
int32_t hs_hypersimplex_loss_f32(const float *x, const float *target, size_t n, double k,
                                 float tau, float *loss, float *grad_x);
int32_t hs_hypersimplex_loss_f64(const double *x, const double *target, size_t n, double k,
                                 double tau, double *loss, double *grad_x);
int32_t hs_hypersimplex_loss_multiclass_f32(const float *logits, const uint32_t *labels,
                                            size_t batch, size_t classes, const double *k,
                                            float tau, int32_t reduction, float *loss,
                                            float *grad_logits);
int32_t hs_hypersimplex_loss_multiclass_f64(const double *logits, const uint32_t *labels,
                                            size_t batch, size_t classes, const double *k,
                                            double tau, int32_t reduction, double *loss,
                                            double *grad_logits);
#define HS_HALF_DECLS(T)                                                                         \
  int32_t hs_soft_binary_argmax_rows_##T(const uint16_t *x, size_t rows, size_t n,               \
                                         const double *k, float tau, uint16_t *y);               \
  int32_t hs_soft_binary_argmax_vjp_rows_##T(const uint16_t *y, const uint16_t *g, size_t rows,  \
                                             size_t n, float tau, uint16_t *grad_x);             \
  int32_t hs_binary_argmax_rows_##T(const uint16_t *x, size_t rows, size_t n, const size_t *k,   \
                                    uint16_t *y);                                                \
  int32_t hs_hypersimplex_loss_##T(const uint16_t *x, const uint16_t *target, size_t n,          \
                                   double k, float tau, float *loss, uint16_t *grad_x);          \
  int32_t hs_hypersimplex_loss_multiclass_##T(const uint16_t *logits, const uint32_t *labels,    \
                                              size_t batch, size_t classes, const double *k,     \
                                              float tau, int32_t reduction, float *loss,         \
                                              uint16_t *grad_logits);
HS_HALF_DECLS(bf16)
HS_HALF_DECLS(f16)
#undef HS_HALF_DECLS
const char *hs_status_message(int32_t status);
}

namespace {

constexpr int32_t kInvalidK = -2, kNonIntegerK = -3, kLengthMismatch = -1;

ffi::Error Status(int32_t s) {
  if (s == 0) return ffi::Error::Success();
  return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                    "hypersimplex error " + std::to_string(s) + ": " + hs_status_message(s));
}

// The precision-specific C functions behind one name; E: the element as stored, R: tau and
// the loss values.
struct Bf16 {};
struct F16 {};
template <typename T>
struct C;
#define HS_C(T, ELEM, REAL, SUFFIX)                                                              \
  template <>                                                                                    \
  struct C<T> {                                                                                  \
    using E = ELEM;                                                                              \
    using R = REAL;                                                                              \
    static constexpr auto sba = hs_soft_binary_argmax_rows_##SUFFIX;                             \
    static constexpr auto vjp = hs_soft_binary_argmax_vjp_rows_##SUFFIX;                         \
    static constexpr auto topk = hs_binary_argmax_rows_##SUFFIX;                                 \
    static constexpr auto loss = hs_hypersimplex_loss_##SUFFIX;                                  \
    static constexpr auto mc = hs_hypersimplex_loss_multiclass_##SUFFIX;                         \
  };
HS_C(float, float, float, f32)
HS_C(double, double, double, f64)
HS_C(Bf16, uint16_t, float, bf16)
HS_C(F16, uint16_t, float, f16)
#undef HS_C

template <typename T>
const T *In(const ffi::AnyBuffer &b) {
  return static_cast<const T *>(b.untyped_data());
}
template <typename T>
T *Out(ffi::Result<ffi::AnyBuffer> &b) {
  return static_cast<T *>(b->untyped_data());
}

// (rows, n) of an array whose last dimension is n; false for a 0-d array.
bool RowsN(const ffi::AnyBuffer &a, size_t &rows, size_t &n) {
  auto d = a.dimensions();
  if (d.size() == 0) return false;
  n = static_cast<size_t>(d.back());
  rows = 1;
  for (size_t i = 0; i + 1 < d.size(); ++i) rows *= static_cast<size_t>(d[i]);
  return true;
}

// k (float32 or float64) as doubles (the C functions take double k; a float64 k is used in place).
const double *KDouble(const ffi::AnyBuffer &k, std::vector<double> &tmp) {
  if (k.element_type() == ffi::DataType::F64) return In<double>(k);
  const float *p = In<float>(k);
  tmp.assign(p, p + k.element_count());
  return tmp.data();
}

// Calls F<float> or F<double> by the element type of `a`.
template <template <typename> class F, typename... A>
ffi::Error Dispatch(const ffi::AnyBuffer &a, A &&...args) {
  switch (a.element_type()) {
    case ffi::DataType::F32:
      return F<float>::run(a, args...);
    case ffi::DataType::F64:
      return F<double>::run(a, args...);
    case ffi::DataType::BF16:
      return F<Bf16>::run(a, args...);
    case ffi::DataType::F16:
      return F<F16>::run(a, args...);
    default:
      return ffi::Error(ffi::ErrorCode::kInvalidArgument,
                        "hypersimplex: only float32, float64, bfloat16 and float16 are supported");
  }
}

template <typename T>
struct Sba {
  static ffi::Error run(const ffi::AnyBuffer &x, const ffi::AnyBuffer &k, double tau,
                        ffi::Result<ffi::AnyBuffer> &y) {
    size_t rows, n;
    if (!RowsN(x, rows, n) || k.element_count() != rows) return Status(kLengthMismatch);
    using E = typename C<T>::E;
    using R = typename C<T>::R;
    std::vector<double> tmp;
    return Status(C<T>::sba(In<E>(x), rows, n, KDouble(k, tmp), static_cast<R>(tau), Out<E>(y)));
  }
};

template <typename T>
struct Vjp {
  static ffi::Error run(const ffi::AnyBuffer &y, const ffi::AnyBuffer &g, double tau,
                        ffi::Result<ffi::AnyBuffer> &gx) {
    size_t rows, n;
    if (!RowsN(y, rows, n) || g.element_count() != rows * n) return Status(kLengthMismatch);
    using E = typename C<T>::E;
    return Status(C<T>::vjp(In<E>(y), In<E>(g), rows, n, static_cast<typename C<T>::R>(tau),
                            Out<E>(gx)));
  }
};

template <typename T>
struct TopK {
  static ffi::Error run(const ffi::AnyBuffer &x, const ffi::AnyBuffer &k,
                        ffi::Result<ffi::AnyBuffer> &y) {
    size_t rows, n;
    if (!RowsN(x, rows, n) || k.element_count() != rows) return Status(kLengthMismatch);
    using E = typename C<T>::E;
    std::vector<double> tmp;
    const double *kp = KDouble(k, tmp);
    // the C function takes whole k: the checks of a real k first (nothing is written on error)
    std::vector<size_t> ks(rows);
    for (size_t r = 0; r < rows; ++r) {
      double kr = kp[r];
      if (!(kr >= 0.0 && kr <= static_cast<double>(n))) return Status(kInvalidK);
      if (kr != std::floor(kr)) return Status(kNonIntegerK);
      ks[r] = static_cast<size_t>(kr);
    }
    // one call: every row checked before any is written, the rows on the library's pool
    return Status(C<T>::topk(In<E>(x), rows, n, ks.data(), Out<E>(y)));
  }
};

template <typename T>
struct Loss {  // per-row ½‖Π(x/τ) − t‖² and its gradient; auto_k: k = Σ t of the row
  static ffi::Error run(const ffi::AnyBuffer &x, const ffi::AnyBuffer &t, const ffi::AnyBuffer &k,
                        double tau, int32_t auto_k, ffi::Result<ffi::AnyBuffer> &per,
                        ffi::Result<ffi::AnyBuffer> &grad) {
    size_t rows, n;
    if (!RowsN(x, rows, n) || t.element_count() != rows * n ||
        (!auto_k && k.element_count() != rows) || per->element_count() != rows)
      return Status(kLengthMismatch);
    using E = typename C<T>::E;
    using R = typename C<T>::R;
    const E *xp = In<E>(x), *tp = In<E>(t);
    std::vector<double> tmp;
    const double *kp = auto_k ? nullptr : KDouble(k, tmp);
    for (size_t r = 0; r < rows; ++r) {
      double kr = 0.0;
      if (auto_k) {
        if constexpr (!std::is_same_v<E, T>) return Status(kLengthMismatch);  // half: k given
        for (size_t i = 0; i < n; ++i) kr += static_cast<double>(tp[r * n + i]);
      } else {
        kr = kp[r];
      }
      int32_t s = C<T>::loss(xp + r * n, tp + r * n, n, kr, static_cast<R>(tau),
                             Out<R>(per) + r, Out<E>(grad) + r * n);
      if (s != 0) return Status(s);
    }
    return ffi::Error::Success();
  }
};

template <typename T>
struct Multiclass {  // logits (..., batch, classes): one C call per leading index
  static ffi::Error run(const ffi::AnyBuffer &x, const ffi::AnyBuffer &labels,
                        const ffi::AnyBuffer &k, double tau, int32_t reduction, int32_t has_k,
                        ffi::Result<ffi::AnyBuffer> &loss, ffi::Result<ffi::AnyBuffer> &grad) {
    auto d = x.dimensions();
    if (d.size() < 2) return Status(kLengthMismatch);
    size_t classes = static_cast<size_t>(d[d.size() - 1]);
    size_t batch = static_cast<size_t>(d[d.size() - 2]);
    size_t outer = loss->element_count();
    if (labels.element_count() != outer * batch || (has_k && k.element_count() != outer * classes))
      return Status(kLengthMismatch);
    std::vector<double> tmp;
    const double *kp = has_k ? KDouble(k, tmp) : nullptr;
    const uint32_t *lp = In<uint32_t>(labels);
    using E = typename C<T>::E;
    using R = typename C<T>::R;
    for (size_t o = 0; o < outer; ++o) {
      int32_t s = C<T>::mc(In<E>(x) + o * batch * classes, lp + o * batch, batch, classes,
                           kp ? kp + o * classes : nullptr, static_cast<R>(tau), reduction,
                           Out<R>(loss) + o, Out<E>(grad) + o * batch * classes);
      if (s != 0) return Status(s);
    }
    return ffi::Error::Success();
  }
};

ffi::Error SbaImpl(ffi::AnyBuffer x, ffi::AnyBuffer k, double tau, ffi::Result<ffi::AnyBuffer> y) {
  return Dispatch<Sba>(x, k, tau, y);
}
ffi::Error VjpImpl(ffi::AnyBuffer y, ffi::AnyBuffer g, double tau,
                   ffi::Result<ffi::AnyBuffer> gx) {
  return Dispatch<Vjp>(y, g, tau, gx);
}
ffi::Error TopKImpl(ffi::AnyBuffer x, ffi::AnyBuffer k, ffi::Result<ffi::AnyBuffer> y) {
  return Dispatch<TopK>(x, k, y);
}
ffi::Error LossImpl(ffi::AnyBuffer x, ffi::AnyBuffer t, ffi::AnyBuffer k, double tau,
                    int32_t auto_k, ffi::Result<ffi::AnyBuffer> per,
                    ffi::Result<ffi::AnyBuffer> grad) {
  return Dispatch<Loss>(x, t, k, tau, auto_k, per, grad);
}
ffi::Error MulticlassImpl(ffi::AnyBuffer x, ffi::AnyBuffer labels, ffi::AnyBuffer k, double tau,
                          int32_t reduction, int32_t has_k, ffi::Result<ffi::AnyBuffer> loss,
                          ffi::Result<ffi::AnyBuffer> grad) {
  return Dispatch<Multiclass>(x, labels, k, tau, reduction, has_k, loss, grad);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(HsSoftBinaryArgmax, SbaImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Attr<double>("tau")
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(HsSoftBinaryArgmaxVjp, VjpImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Attr<double>("tau")
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(HsBinaryArgmax, TopKImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(HsHypersimplexLoss, LossImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Attr<double>("tau")
                                  .Attr<int32_t>("auto_k")
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(HsHypersimplexLossMulticlass, MulticlassImpl,
                              ffi::Ffi::Bind()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Arg<ffi::AnyBuffer>()
                                  .Attr<double>("tau")
                                  .Attr<int32_t>("reduction")
                                  .Attr<int32_t>("has_k")
                                  .Ret<ffi::AnyBuffer>()
                                  .Ret<ffi::AnyBuffer>());
