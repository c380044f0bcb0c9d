// Training-mode BatchNorm + LeakyReLU of the paper's MLP as two XLA FFI kernels (CPU).
//
// The maths is that of springblock.validation.nets.mlp.batch_norm_activation (its
// docstring; Ioffe & Szegedy 2015, section 3), with the Linear layer's bias folded in.
// Per feature row r of z (the Linear product W h, feature-major: N samples contiguous) and
// bias b_r:
//
//   forward:  y = z + b_r,  m = mean(y),  v = mean((y - m)^2),  s = 1 / sqrt(v + eps),
//             u = (y - m) s scale_r + shift_r,  h = u if u >= 0 else alpha u;
//   reverse:  xhat = (y - m) s,  g = dh if u >= 0 else alpha dh,
//             dshift_r = sum g,  dscale_r = sum g xhat,  dalpha += sum_{u < 0} dh u,
//             dz = scale_r s / N (N g - dshift_r - xhat dscale_r),  dbias_r = sum dz.
//
// XLA's CPU fusions make several passes over the (F, N) activations for these (each
// reduction over an expression materialises it first). Here a row of N = 2560 float32 is
// 10 KB: it stays in the L1 cache, so the activations are read from memory once in the
// forward kernel (written once) and z and dh once in the reverse kernel (dz written once).
// The reverse kernel recomputes xhat and u from z and the forward's mean and variance, so
// the forward saves no residual of activation size.
//
// Leading axes are a batch of nets (vmap, "broadcast_all"): z (..., F, N), the per-feature
// arrays (..., F), alpha (...). Sums are the reductions the compiler vectorises under
// `omp simd` (partial sums per vector lane, added at the end), not XLA's order, so results
// differ from the XLA path in the last bits (tests/nets/test_batch_norm_kernel.py states
// the tolerance).

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// nn.BatchNorm1d's default eps, as mlp.BN_EPS.
constexpr double kEps = 1e-5;

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// one binary for every x86-64 CPU; the loader picks the widest vector unit present
#define SPRINGBLOCK_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SPRINGBLOCK_CLONES
#endif

template <typename T>
SPRINGBLOCK_CLONES void ForwardRows(const T* z, const T* bias, const T* scale, const T* shift,
                                    const T* alpha, int64_t nets, int64_t features,
                                    int64_t n, T* h, T* mean, T* var) {
  const T inv_n = T(1) / T(n);
  for (int64_t net = 0; net < nets; ++net) {
    const T a = alpha[net];
    for (int64_t f = 0; f < features; ++f) {
      const int64_t row = net * features + f;
      const T* zr = z + row * n;
      T* hr = h + row * n;
      const T b = bias[row];
      T sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t i = 0; i < n; ++i) sum += zr[i] + b;
      const T m = sum * inv_n;
      T squares = 0;
#pragma omp simd reduction(+ : squares)
      for (int64_t i = 0; i < n; ++i) {
        const T c = (zr[i] + b) - m;
        squares += c * c;
      }
      const T v = squares * inv_n;
      const T s = T(1) / std::sqrt(v + T(kEps));
      const T k = s * scale[row];
      const T t = shift[row];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        const T u = ((zr[i] + b) - m) * k + t;
        hr[i] = u >= T(0) ? u : a * u;
      }
      mean[row] = m;
      var[row] = v;
    }
  }
}

template <typename T>
SPRINGBLOCK_CLONES void ReverseRows(const T* z, const T* bias, const T* scale, const T* shift,
                                    const T* alpha, const T* mean, const T* var, const T* dh,
                                    int64_t nets, int64_t features, int64_t n, T* dz,
                                    T* dbias, T* dscale, T* dshift, T* dalpha) {
  const T nf = T(n);
  for (int64_t net = 0; net < nets; ++net) {
    const T a = alpha[net];
    T slope_sum = 0;
    for (int64_t f = 0; f < features; ++f) {
      const int64_t row = net * features + f;
      const T* zr = z + row * n;
      const T* dhr = dh + row * n;
      T* dzr = dz + row * n;
      const T b = bias[row];
      const T m = mean[row];
      const T s = T(1) / std::sqrt(var[row] + T(kEps));
      const T gamma = scale[row];
      const T t = shift[row];
      T g_sum = 0, gx_sum = 0, negative_sum = 0;
#pragma omp simd reduction(+ : g_sum, gx_sum, negative_sum)
      for (int64_t i = 0; i < n; ++i) {
        const T xhat = ((zr[i] + b) - m) * s;
        const T u = xhat * gamma + t;
        const bool negative = u < T(0);
        const T g = negative ? a * dhr[i] : dhr[i];
        g_sum += g;
        gx_sum += g * xhat;
        negative_sum += negative ? dhr[i] * u : T(0);
      }
      const T k = gamma * s / nf;
      T dz_sum = 0;
#pragma omp simd reduction(+ : dz_sum)
      for (int64_t i = 0; i < n; ++i) {
        const T xhat = ((zr[i] + b) - m) * s;
        const T u = xhat * gamma + t;
        const T g = u < T(0) ? a * dhr[i] : dhr[i];
        const T d = k * (nf * g - g_sum - xhat * gx_sum);
        dzr[i] = d;
        dz_sum += d;
      }
      dshift[row] = g_sum;
      dscale[row] = gx_sum;
      dbias[row] = dz_sum;
      slope_sum += negative_sum;
    }
    dalpha[net] = slope_sum;
  }
}

// z's layout: ``nets`` nets (the product of its leading axes) of ``features`` rows of
// ``n`` samples.
struct Layout {
  int64_t nets = 0, features = 0, n = 0;
};

// Reads z (..., F, N) into ``layout`` and checks that every per-feature operand (bias,
// scale, shift; also mean and var in the reverse) is (..., F) and alpha (...), as z's
// leading axes: an error names what does not fit, before any buffer is read.
template <typename Buffer>
ffi::Error Read(const Buffer& z, std::initializer_list<size_t> per_feature, size_t alpha,
                Layout& layout) {
  auto dims = z.dimensions();
  if (dims.size() < 2) return ffi::Error::InvalidArgument("z must be (..., features, samples)");
  layout.n = dims[dims.size() - 1];
  layout.features = dims[dims.size() - 2];
  if (layout.n == 0 || layout.features == 0) return ffi::Error::InvalidArgument("z is empty");
  const int64_t rows = static_cast<int64_t>(z.element_count()) / layout.n;
  layout.nets = rows / layout.features;
  for (size_t count : per_feature) {
    if (static_cast<int64_t>(count) != rows) {
      return ffi::Error::InvalidArgument(
          "the per-feature operands (bias, scale, shift, mean, var) must be (..., features), "
          "as z's leading axes");
    }
  }
  if (static_cast<int64_t>(alpha) != layout.nets) {
    return ffi::Error::InvalidArgument("alpha must be (...), one per net of z's leading axes");
  }
  return ffi::Error::Success();
}

template <ffi::DataType T>
ffi::Error Forward(ffi::Buffer<T> z, ffi::Buffer<T> bias, ffi::Buffer<T> scale,
                   ffi::Buffer<T> shift, ffi::Buffer<T> alpha, ffi::ResultBuffer<T> h,
                   ffi::ResultBuffer<T> mean, ffi::ResultBuffer<T> var) {
  Layout layout;
  ffi::Error shapes = Read(
      z, {bias.element_count(), scale.element_count(), shift.element_count()},
      alpha.element_count(), layout);
  if (shapes.failure()) return shapes;
  ForwardRows(z.typed_data(), bias.typed_data(), scale.typed_data(), shift.typed_data(),
              alpha.typed_data(), layout.nets, layout.features, layout.n, h->typed_data(),
              mean->typed_data(), var->typed_data());
  return ffi::Error::Success();
}

template <ffi::DataType T>
ffi::Error Reverse(ffi::Buffer<T> z, ffi::Buffer<T> bias, ffi::Buffer<T> scale,
                   ffi::Buffer<T> shift, ffi::Buffer<T> alpha, ffi::Buffer<T> mean,
                   ffi::Buffer<T> var, ffi::Buffer<T> dh, ffi::ResultBuffer<T> dz,
                   ffi::ResultBuffer<T> dbias, ffi::ResultBuffer<T> dscale,
                   ffi::ResultBuffer<T> dshift, ffi::ResultBuffer<T> dalpha) {
  if (dh.element_count() != z.element_count()) {
    return ffi::Error::InvalidArgument("dh and z differ in size");
  }
  Layout layout;
  ffi::Error shapes = Read(z,
                           {bias.element_count(), scale.element_count(), shift.element_count(),
                            mean.element_count(), var.element_count()},
                           alpha.element_count(), layout);
  if (shapes.failure()) return shapes;
  ReverseRows(z.typed_data(), bias.typed_data(), scale.typed_data(), shift.typed_data(),
              alpha.typed_data(), mean.typed_data(), var.typed_data(), dh.typed_data(),
              layout.nets, layout.features, layout.n, dz->typed_data(), dbias->typed_data(),
              dscale->typed_data(), dshift->typed_data(), dalpha->typed_data());
  return ffi::Error::Success();
}

}  // namespace

#define SPRINGBLOCK_FORWARD(NAME, TYPE)                       \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, Forward<TYPE>,          \
                                ffi::Ffi::Bind()              \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>());

#define SPRINGBLOCK_REVERSE(NAME, TYPE)                       \
  XLA_FFI_DEFINE_HANDLER_SYMBOL(NAME, Reverse<TYPE>,          \
                                ffi::Ffi::Bind()              \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Arg<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>() \
                                    .Ret<ffi::Buffer<TYPE>>());

// The jaxlib whose XLA FFI headers this library was built with (setup.py defines it); the
// Python side loads the library only into that jaxlib.
#ifndef SPRINGBLOCK_JAXLIB_VERSION
#define SPRINGBLOCK_JAXLIB_VERSION "unknown"
#endif
extern "C" const char* SpringblockJaxlibVersion() { return SPRINGBLOCK_JAXLIB_VERSION; }

SPRINGBLOCK_FORWARD(BatchNormActivationForwardF32, ffi::F32)
SPRINGBLOCK_FORWARD(BatchNormActivationForwardF64, ffi::F64)
SPRINGBLOCK_REVERSE(BatchNormActivationReverseF32, ffi::F32)
SPRINGBLOCK_REVERSE(BatchNormActivationReverseF64, ffi::F64)
