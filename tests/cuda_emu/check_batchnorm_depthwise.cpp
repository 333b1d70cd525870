// Runs csrc/cuda/batchnorm.cu and depthwise_conv2d.cu under cuda_emu.h against double-precision loops:
// channels-last and channels-first layouts, a channel whose mean dwarfs its spread, one element per
// channel, training and inference backward; depthwise with multipliers, strides, dilation, both
// paddings and a skipped dx. Prints "N passed, M failed" (see check.h).

#include "check.h"
#include "cuda/batchnorm.h"
#include "cuda/depthwise_conv2d.h"

using namespace forgenet::gpu;

// ---------------------------------------------------------------- batch norm
static void batchnorm_case(int64_t outer, int64_t c, int64_t inner, float offset, float eps) {
  const int64_t total = outer * c * inner, n = outer * inner;
  const Vec x = randv(total, offset - 1.0f, offset + 1.0f), gamma = randv(c, 0.5f, 1.5f), beta = randv(c),
            dy = randv(total);
  auto idx = [&](int64_t e, int64_t ch) { return ((e / inner) * c + ch) * inner + e % inner; };
  DVec mean(c), var(c), y(total), dx(total), dxi(total), dg(c), db(c);
  Vec meanf(c), varf(c);
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = 0, v = 0;
    for (int64_t e = 0; e < n; ++e) m += x[idx(e, ch)];
    m /= n;
    for (int64_t e = 0; e < n; ++e) v += (x[idx(e, ch)] - m) * (x[idx(e, ch)] - m);
    v /= n;
    mean[ch] = m, var[ch] = v, meanf[ch] = float(m), varf[ch] = float(v);
    const double rs = 1.0 / std::sqrt(v + eps);
    double sd = 0, sdx = 0;
    for (int64_t e = 0; e < n; ++e) {
      const int64_t k = idx(e, ch);
      y[k] = (x[k] - m) * rs * gamma[ch] + beta[ch];
      sd += dy[k];
      sdx += double(dy[k]) * (x[k] - m) * rs;
    }
    dg[ch] = sdx, db[ch] = sd;
    for (int64_t e = 0; e < n; ++e) {
      const int64_t k = idx(e, ch);
      dx[k] = gamma[ch] * rs * (dy[k] - sd / n - (x[k] - m) * rs * sdx / n);
      dxi[k] = gamma[ch] * rs * dy[k];
    }
  }
  const std::string name = "batch_norm " + std::to_string(outer) + "x" + std::to_string(c) + "x" +
                           std::to_string(inner) + " offset " + std::to_string(int(offset));
  Vec gy(total, NAN), gm(c, NAN), gv(c, NAN), gdx(total, NAN), gdg(c, NAN), gdb(c, NAN);
  check_ok(name, batch_norm_forward_train(x.data(), gamma.data(), beta.data(), gy.data(), gm.data(), gv.data(), outer,
                                          c, inner, eps, nullptr));
  check(name + " y", gy, y, 1e-4);
  check(name + " mean", gm, mean);
  check(name + " var", gv, var);
  Vec gyi(total, NAN);
  check_ok(name, batch_norm_forward_infer(x.data(), gamma.data(), beta.data(), meanf.data(), varf.data(), gyi.data(),
                                          outer, c, inner, eps, nullptr));
  check(name + " inference y", gyi, y, 1e-4);
  check_ok(name, batch_norm_backward(dy.data(), x.data(), gamma.data(), meanf.data(), varf.data(), gdx.data(),
                                     gdg.data(), gdb.data(), outer, c, inner, eps, true, nullptr));
  check(name + " dx", gdx, dx, 1e-3);
  check(name + " dgamma", gdg, dg, 1e-3);
  check(name + " dbeta", gdb, db);
  check_ok(name, batch_norm_backward(dy.data(), x.data(), gamma.data(), meanf.data(), varf.data(), gdx.data(),
                                     gdg.data(), gdb.data(), outer, c, inner, eps, false, nullptr));
  check(name + " inference dx", gdx, dxi);
}

// ---------------------------------------------------------------- depthwise
static void depthwise_case(int64_t n, int64_t h, int64_t w, int64_t c, int64_t m, int64_t kh, int64_t kw, int64_t s,
                           int64_t d, bool same, bool bias, bool need_dx) {
  const forgenet::DepthwiseGeom g = forgenet::make_depthwise_geom(n, h, w, c, m, kh, kw, s, s, d, d, same);
  const int64_t cm = c * m, ny = n * g.ho * g.wo * cm;
  const Vec x = randv(n * h * w * c), k = randv(kh * kw * cm), b = randv(cm), dy = randv(ny);
  DVec y(ny, 0.0), dx(n * h * w * c, 0.0), dk(kh * kw * cm, 0.0), db(cm, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t oh = 0; oh < g.ho; ++oh)
      for (int64_t ow = 0; ow < g.wo; ++ow)
        for (int64_t j = 0; j < cm; ++j) {
          const int64_t o = ((i * g.ho + oh) * g.wo + ow) * cm + j;
          double acc = bias ? b[j] : 0.0;
          db[j] += dy[o];
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t bb = 0; bb < kw; ++bb) {
              const int64_t ih = oh * s - g.pad_top + a * d, iw = ow * s - g.pad_left + bb * d;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              const int64_t xi = ((i * h + ih) * w + iw) * c + j / m, ki = (a * kw + bb) * cm + j;
              acc += double(x[xi]) * k[ki];
              dx[xi] += double(dy[o]) * k[ki];
              dk[ki] += double(dy[o]) * x[xi];
            }
          y[o] = acc;
        }
  const std::string name = "depthwise " + std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w) +
                           "x" + std::to_string(c) + " m" + std::to_string(m) + " k" + std::to_string(kh) +
                           std::to_string(kw) + " s" + std::to_string(s) + " d" + std::to_string(d) +
                           (same ? " same" : " valid");
  Vec gy(ny, NAN), gdx(n * h * w * c, NAN), gdk(kh * kw * cm, NAN), gdb(cm, NAN);
  check_ok(name, depthwise_conv2d_forward(g, x.data(), k.data(), bias ? b.data() : nullptr, gy.data(), nullptr));
  check(name + " y", gy, y);
  check_ok(name, depthwise_conv2d_backward(g, dy.data(), x.data(), k.data(), need_dx ? gdx.data() : nullptr,
                                           gdk.data(), gdb.data(), nullptr));
  if (need_dx) check(name + " dx", gdx, dx);
  check(name + " dkernel", gdk, dk);
  check(name + " dbias", gdb, db);
}

int main() {
  batchnorm_case(37, 5, 1, 0.0f, 1e-3f);
  batchnorm_case(3, 4, 29, 0.0f, 1e-5f);
  batchnorm_case(300, 3, 1, 1000.0f, 1e-3f);  // |mean| >> std
  batchnorm_case(1, 6, 1, 0.0f, 1e-3f);        // one element per channel: variance 0
  batchnorm_case(2, 1, 300, 0.0f, 1e-3f);
  depthwise_case(2, 7, 6, 3, 1, 3, 3, 1, 1, false, true, true);
  depthwise_case(2, 7, 6, 3, 2, 3, 2, 2, 1, true, true, true);
  depthwise_case(1, 9, 8, 4, 1, 3, 3, 1, 2, true, false, true);
  depthwise_case(3, 5, 5, 2, 3, 1, 1, 1, 1, false, true, false);
  depthwise_case(1, 4, 4, 5, 1, 5, 5, 3, 1, true, true, true);  // window larger than the input
  return report();
}
