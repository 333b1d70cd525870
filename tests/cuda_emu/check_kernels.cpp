// Runs the CUDA kernels of csrc/cuda under cuda_emu.h (on the CPU) against plain double-precision
// loops, over odd shapes, every transpose, split-K, chunked convolutions, padding rules and NaN rows.
// Built and run by tests/cuda_emu/test_cuda_emu.py; prints one line per failure and "N passed, M failed".

#include "check.h"
#include "cuda/conv2d.h"
#include "cuda/gemm.h"
#include "cuda/pooling.h"
#include "cuda/softmax.h"

using namespace forgenet::gpu;

// ---------------------------------------------------------------- gemm
static void gemm_case(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, bool alias) {
  const Vec A = randv(M * K), B = randv(K * N), C = randv(M * N);
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  DVec want(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += double(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
      want[i * N + j] = alpha * s + (beta != 0 ? beta * double(C[i * N + j]) : 0.0);
    }
  Vec out = alias ? C : Vec(M * N, NAN);
  Vec ws(sgemm_workspace_floats(M, N, K));
  const float* c = beta != 0 ? (alias ? out.data() : C.data()) : nullptr;
  char name[160];
  std::snprintf(name, sizeof name, "gemm ta=%d tb=%d M=%ld N=%ld K=%ld beta=%g alias=%d ws=%zu", ta, tb, long(M),
                long(N), long(K), beta, alias, ws.size());
  check_ok(name, sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, c, N, out.data(), N,
                       ws.empty() ? nullptr : ws.data(), int64_t(ws.size()), nullptr));
  check(name, out, want);
}

// ---------------------------------------------------------------- softmax
static void softmax_case(int64_t rows, int64_t cols, bool specials) {
  Vec x = randv(rows * cols, -5, 5), dy = randv(rows * cols);
  if (specials && rows >= 3 && cols >= 2) {
    x[0 * cols + 1] = NAN;                                         // row 0: NaN row
    x[1 * cols + 0] = INFINITY;                                    // row 1: +inf -> NaN row (CPU rule)
    for (int64_t c = 0; c < cols; ++c) x[2 * cols + c] = -INFINITY;  // row 2: all -inf -> NaN row
  }
  DVec y(rows * cols), dx(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = &x[r * cols];
    double m = -INFINITY;
    bool nan = false;
    for (int64_t c = 0; c < cols; ++c) {
      m = std::max<double>(m, xr[c]);
      nan |= std::isnan(xr[c]);
    }
    if (nan) m = NAN;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(double(xr[c]) - m);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = std::exp(double(xr[c]) - m) / s;
  }
  Vec yf(rows * cols), got(rows * cols);
  std::string name = "softmax " + std::to_string(rows) + "x" + std::to_string(cols);
  check_ok(name, softmax_rows(x.data(), got.data(), rows, cols, nullptr));
  check(name, got, y);
  for (size_t i = 0; i < y.size(); ++i) yf[i] = float(y[i]);
  for (int64_t r = 0; r < rows; ++r) {
    double d = 0;
    for (int64_t c = 0; c < cols; ++c) d += double(yf[r * cols + c]) * dy[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) dx[r * cols + c] = yf[r * cols + c] * (dy[r * cols + c] - d);
  }
  check_ok(name, softmax_backward_rows(yf.data(), dy.data(), got.data(), rows, cols, nullptr));
  check(name + " backward", got, dx);

  // Fused cross-entropy, sparse (one bad label) and dense.
  std::vector<int64_t> labels(rows);
  for (int64_t r = 0; r < rows; ++r) labels[r] = (r * 7) % cols;
  if (rows > 3) labels[3] = cols;  // out of range: NaN row
  Vec t = randv(rows * cols, 0, 1);
  DVec loss_s(rows), grad_s(rows * cols), loss_d(rows), grad_d(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const double m = [&] {
      double mm = -INFINITY;
      for (int64_t c = 0; c < cols; ++c) mm = std::max<double>(mm, x[r * cols + c]);
      return mm;
    }();
    double s = 0, ts = 0, l = 0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(x[r * cols + c] - m);
    const double lse = std::log(s) + m;
    for (int64_t c = 0; c < cols; ++c) {
      ts += t[r * cols + c];
      l += t[r * cols + c] * (lse - x[r * cols + c]);
    }
    const bool ok = labels[r] >= 0 && labels[r] < cols;
    loss_s[r] = ok ? lse - x[r * cols + labels[r]] : NAN;
    loss_d[r] = l;
    for (int64_t c = 0; c < cols; ++c) {
      const double p = std::exp(x[r * cols + c] - lse);
      grad_s[r * cols + c] = ok ? p - (c == labels[r]) : NAN;
      grad_d[r * cols + c] = p * ts - t[r * cols + c];
    }
  }
  Vec loss(rows), grad(rows * cols);
  check_ok(name, softmax_xent_sparse(x.data(), labels.data(), loss.data(), grad.data(), rows, cols, nullptr));
  check(name + " xent sparse loss", loss, loss_s);
  check(name + " xent sparse grad", grad, grad_s);
  check_ok(name, softmax_xent_dense(x.data(), t.data(), loss.data(), grad.data(), rows, cols, nullptr));
  check(name + " xent dense loss", loss, loss_d);
  check(name + " xent dense grad", grad, grad_d);
}

// ---------------------------------------------------------------- pooling
static void pool_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                      bool same, bool with_nan) {
  const Window g = make_window(n, h, w, c, kh, kw, sh, sw, same);
  Vec x = randv(n * h * w * c);
  x[5] = x[9];  // a tie: the gradient goes to the first
  if (with_nan) x[(n * h * w * c) / 2] = NAN;
  const Vec dy = randv(n * g.ho * g.wo * c);
  DVec ymax(n * g.ho * g.wo * c), yavg(ymax.size()), dmax(x.size(), 0.0), davg(x.size(), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oh = 0; oh < g.ho; ++oh)
      for (int64_t ow = 0; ow < g.wo; ++ow)
        for (int64_t ch = 0; ch < c; ++ch) {
          double m = 0, s = 0;
          int64_t at = -1, cnt = 0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * sh - g.pad_top + i, iw = ow * sw - g.pad_left + j;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              const int64_t idx = ((b * h + ih) * w + iw) * c + ch;
              const double v = x[idx];
              if (at < 0 || v > m || (std::isnan(v) && !std::isnan(m))) m = v, at = idx;
              s += v;
              ++cnt;
            }
          const int64_t o = ((b * g.ho + oh) * g.wo + ow) * c + ch;
          ymax[o] = m;
          yavg[o] = s / cnt;
          dmax[at] += dy[o];
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * sh - g.pad_top + i, iw = ow * sw - g.pad_left + j;
              if (ih >= 0 && ih < h && iw >= 0 && iw < w) davg[((b * h + ih) * w + iw) * c + ch] += dy[o] / cnt;
            }
        }
  char name[160];
  std::snprintf(name, sizeof name, "pool x=(%ld,%ld,%ld,%ld) k=(%ld,%ld) s=(%ld,%ld) %s%s", long(n), long(h),
                long(w), long(c), long(kh), long(kw), long(sh), long(sw), same ? "same" : "valid",
                with_nan ? " nan" : "");
  Vec y(ymax.size()), dx(x.size(), NAN);
  check_ok(name, max_pool2d_forward(g, x.data(), y.data(), nullptr));
  check(std::string(name) + " max", y, ymax);
  check_ok(name, avg_pool2d_forward(g, x.data(), y.data(), nullptr));
  check(std::string(name) + " avg", y, yavg);
  check_ok(name, max_pool2d_backward(g, dy.data(), x.data(), dx.data(), nullptr));
  check(std::string(name) + " max backward", dx, dmax);
  check_ok(name, avg_pool2d_backward(g, dy.data(), dx.data(), nullptr));
  check(std::string(name) + " avg backward", dx, davg);
}

// ---------------------------------------------------------------- conv2d
static void conv_case(int64_t n, int64_t h, int64_t w, int64_t cin, int64_t kh, int64_t kw, int64_t cout, int64_t sh,
                      int64_t sw, bool same, bool bias) {
  const Window g = make_window(n, h, w, cin, kh, kw, sh, sw, same);
  const Vec x = randv(n * h * w * cin), k = randv(kh * kw * cin * cout), b = randv(cout);
  const Vec dy = randv(n * g.ho * g.wo * cout);
  DVec y(dy.size()), dx(x.size(), 0.0), dk(k.size(), 0.0), db(cout, 0.0);
  for (int64_t bn = 0; bn < n; ++bn)
    for (int64_t oh = 0; oh < g.ho; ++oh)
      for (int64_t ow = 0; ow < g.wo; ++ow)
        for (int64_t co = 0; co < cout; ++co) {
          const int64_t o = ((bn * g.ho + oh) * g.wo + ow) * cout + co;
          double s = bias ? b[co] : 0.0;
          db[co] += dy[o];
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * sh - g.pad_top + i, iw = ow * sw - g.pad_left + j;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              for (int64_t ci = 0; ci < cin; ++ci) {
                const int64_t xi = ((bn * h + ih) * w + iw) * cin + ci, ki = ((i * kw + j) * cin + ci) * cout + co;
                s += double(x[xi]) * k[ki];
                dx[xi] += double(dy[o]) * k[ki];
                dk[ki] += double(dy[o]) * x[xi];
              }
            }
          y[o] = s;
        }
  char name[200];
  std::snprintf(name, sizeof name, "conv x=(%ld,%ld,%ld,%ld) k=(%ld,%ld,%ld) s=(%ld,%ld) %s bias=%d", long(n),
                long(h), long(w), long(cin), long(kh), long(kw), long(cout), long(sh), long(sw),
                same ? "same" : "valid", bias);
  Vec got(y.size(), NAN), gdx(x.size(), NAN), gdk(k.size(), NAN), gdb(cout, NAN);
  Vec ws(conv2d_forward_workspace_floats(g, cout));
  check_ok(name, conv2d_forward(g, cout, x.data(), k.data(), bias ? b.data() : nullptr, got.data(), ws.data(),
                                int64_t(ws.size()), nullptr));
  check(std::string(name) + " forward", got, y);
  ws.assign(conv2d_backward_workspace_floats(g, cout), NAN);
  check_ok(name, conv2d_backward(g, cout, dy.data(), x.data(), k.data(), gdx.data(), gdk.data(), gdb.data(),
                                 ws.data(), int64_t(ws.size()), nullptr));
  check(std::string(name) + " dx", gdx, dx);
  check(std::string(name) + " dkernel", gdk, dk);
  check(std::string(name) + " dbias", gdb, db);
  // Without dx (need_dx=False): the smaller workspace suffices and dkernel/dbias are unchanged.
  gdk.assign(k.size(), NAN);
  gdb.assign(cout, NAN);
  ws.assign(conv2d_backward_workspace_floats(g, cout, false), NAN);
  if (ws.size() > conv2d_backward_workspace_floats(g, cout)) {
    std::printf("FAIL %s: the workspace without dx is larger than with it\n", name);
    ++failed;
  }
  check_ok(name, conv2d_backward(g, cout, dy.data(), x.data(), k.data(), nullptr, gdk.data(), gdb.data(),
                                 ws.data(), int64_t(ws.size()), nullptr));
  check(std::string(name) + " no-dx dkernel", gdk, dk);
  check(std::string(name) + " no-dx dbias", gdb, db);
  if (conv2d_forward_workspace_floats(g, cout) > 0 && conv2d_forward(g, cout, x.data(), k.data(), nullptr, got.data(), ws.data(), 0, nullptr) !=
                         cudaErrorInvalidValue) {
    std::printf("FAIL %s: a too-small workspace was accepted\n", name);
    ++failed;
  }
}

int main() {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      gemm_case(ta, tb, 1, 1, 1, 1.0f, 0.0f, false);
      gemm_case(ta, tb, 5, 3, 7, 0.5f, 0.0f, false);
      gemm_case(ta, tb, 67, 45, 33, 1.0f, 0.5f, false);
      gemm_case(ta, tb, 130, 129, 17, -0.7f, 1.0f, true);   // c and out the same buffer
      gemm_case(ta, tb, 20, 30, 2100, 1.0f, 0.25f, false);  // split K
      gemm_case(ta, tb, 7, 5, 0, 2.0f, 0.5f, false);        // K = 0: beta * c
    }
  if (!getenv("EMU_QUICK")) gemm_case(false, false, 128 * 11 + 5, 128 * 12 + 3, 9, 1.0f, 0.0f, false);  // 128 x 128 tiles
  if (!getenv("EMU_QUICK")) gemm_case(true, true, 128 * 11 + 5, 128 * 12 + 3, 9, 1.0f, 0.5f, false);

  softmax_case(1, 1, false);
  softmax_case(5, 300, true);
  softmax_case(4, 1000, true);
  softmax_case(3, 2, true);

  pool_case(2, 7, 5, 3, 2, 2, 2, 2, false, false);
  pool_case(2, 7, 5, 3, 2, 2, 2, 2, true, true);
  pool_case(1, 6, 6, 2, 3, 3, 1, 1, true, false);
  pool_case(1, 6, 6, 2, 3, 3, 1, 1, false, true);
  pool_case(2, 9, 8, 1, 3, 2, 2, 3, true, false);
  pool_case(1, 3, 4, 2, 5, 5, 1, 2, true, false);  // window larger than the input ('same')
  pool_case(1, 5, 5, 1, 1, 1, 1, 1, false, false);

  conv_case(2, 7, 6, 3, 3, 3, 4, 1, 1, false, true);
  conv_case(2, 7, 6, 3, 3, 3, 4, 1, 1, true, false);
  conv_case(1, 8, 9, 2, 3, 2, 5, 2, 1, true, true);
  conv_case(3, 9, 7, 2, 2, 3, 3, 2, 3, false, true);
  conv_case(1, 4, 4, 3, 5, 5, 2, 1, 1, true, true);   // kernel larger than the input ('same')
  conv_case(2, 5, 5, 3, 1, 1, 6, 1, 1, false, true);  // pointwise: no im2col
  conv_case(1, 5, 5, 3, 1, 1, 6, 2, 2, true, false);  // 1x1 but strided: im2col
  conv_case(2, 32, 32, 2, 3, 3, 3, 1, 1, true, true);  // 2048 rows: split-K dkernel, several chunks
  conv_case(0, 5, 5, 2, 3, 3, 3, 1, 1, true, true);   // empty batch: zero gradients

  return report();
}
