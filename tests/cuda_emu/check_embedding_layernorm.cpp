// Runs csrc/cuda/embedding.cu and layernorm.cu under cuda_emu.h against double-precision loops: odd
// sizes, repeated and out-of-range ids, empty inputs, rows spanning several dgamma partials, a row
// whose mean dwarfs its spread, and zero columns. Prints "N passed, M failed" (see check.h).

#include "check.h"
#include "cuda/embedding.h"
#include "cuda/layernorm.h"

using namespace forgenet::gpu;

// ---------------------------------------------------------------- embedding
static void embedding_case(int64_t n, int64_t vocab, int64_t dim, bool bad_ids) {
  std::vector<int64_t> ids(n);
  for (int64_t k = 0; k < n; ++k) ids[k] = vocab ? (k * 7 + k / 3) % vocab : 0;  // repeats once n > vocab
  if (bad_ids && n >= 3) ids[1] = -1, ids[n - 1] = vocab;
  const Vec table = randv(vocab * dim), dy = randv(n * dim);
  DVec out(n * dim), dtable(vocab * dim, 0.0);
  for (int64_t k = 0; k < n; ++k) {
    const bool ok = ids[k] >= 0 && ids[k] < vocab;
    for (int64_t j = 0; j < dim; ++j) {
      out[k * dim + j] = ok ? table[ids[k] * dim + j] : NAN;
      if (ok) dtable[ids[k] * dim + j] += dy[k * dim + j];
    }
  }
  const std::string name = "embedding n=" + std::to_string(n) + " vocab=" + std::to_string(vocab) +
                           " dim=" + std::to_string(dim) + (bad_ids ? " bad ids" : "");
  Vec got(n * dim, 7.0f), gdt(vocab * dim, NAN);
  check_ok(name, embedding_forward(ids.data(), n, table.data(), vocab, dim, got.data(), nullptr));
  check(name, got, out);
  check_ok(name, embedding_backward(dy.data(), ids.data(), n, vocab, dim, gdt.data(), nullptr));
  check(name + " backward", gdt, dtable);
}

// ---------------------------------------------------------------- layer norm
static void layernorm_case(int64_t rows, int64_t cols, float offset, float eps) {
  Vec x = randv(rows * cols, offset - 1.0f, offset + 1.0f), gamma = randv(cols, 0.5f, 1.5f), beta = randv(cols);
  const Vec dy = randv(rows * cols);
  if (rows > 1 && cols > 1)
    for (int64_t c = 0; c < cols; ++c) x[cols + c] = 2.5f;  // a constant row: variance 0
  DVec y(rows * cols), mean(rows), rstd(rows), dx(rows * cols), dgamma(cols, 0.0), dbeta(cols, 0.0);
  Vec meanf(rows), rstdf(rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = &x[r * cols];
    double m = 0, v = 0;
    for (int64_t c = 0; c < cols; ++c) m += xr[c];
    m = cols ? m / cols : 0.0;
    for (int64_t c = 0; c < cols; ++c) v += (xr[c] - m) * (xr[c] - m);
    v = cols ? v / cols : 0.0;
    mean[r] = m;
    rstd[r] = 1.0 / std::sqrt(v + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = (xr[c] - m) * rstd[r] * gamma[c] + beta[c];
    // The backward takes the forward's float statistics; the reference uses the same ones.
    meanf[r] = float(m);
    rstdf[r] = float(rstd[r]);
    const double mf = meanf[r], rf = rstdf[r];
    double sg = 0, sgx = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double xh = (xr[c] - mf) * rf, g = double(dy[r * cols + c]) * gamma[c];
      sg += g;
      sgx += g * xh;
      dgamma[c] += dy[r * cols + c] * xh;
      dbeta[c] += dy[r * cols + c];
    }
    for (int64_t c = 0; c < cols; ++c) {
      const double xh = (xr[c] - mf) * rf;
      dx[r * cols + c] = rf * (double(dy[r * cols + c]) * gamma[c] - sg / cols - xh * sgx / cols);
    }
  }
  char name[120];
  std::snprintf(name, sizeof name, "layer_norm %ldx%ld offset=%g eps=%g", long(rows), long(cols), offset, eps);
  Vec gy(rows * cols, NAN), gm(rows, NAN), gr(rows, NAN);
  check_ok(name, layer_norm_forward(x.data(), gamma.data(), beta.data(), gy.data(), gm.data(), gr.data(), rows, cols,
                                    eps, nullptr));
  check(std::string(name) + " y", gy, y);
  check(std::string(name) + " mean", gm, mean);
  // rstd is 1/sqrt(eps) for the constant row: compare relatively
  DVec rel(rows, 1.0);
  Vec grel(rows);
  for (int64_t r = 0; r < rows; ++r) grel[r] = std::isinf(gr[r]) && std::isinf(rstd[r]) ? 1.0f : float(gr[r] / rstd[r]);
  check(std::string(name) + " rstd", grel, rel);

  Vec gdx(rows * cols, NAN), gdg(cols, NAN), gdb(cols, NAN);
  Vec ws(layer_norm_backward_workspace_floats(rows, cols), NAN);
  check_ok(name, layer_norm_backward(dy.data(), x.data(), gamma.data(), meanf.data(), rstdf.data(), gdx.data(),
                                     gdg.data(), gdb.data(), rows, cols, ws.data(), int64_t(ws.size()), nullptr));
  // dx scales with rstd (1/sqrt(eps) on the constant row): the tolerance follows the largest value.
  check(std::string(name) + " dx", gdx, dx);
  check(std::string(name) + " dgamma", gdg, dgamma);
  check(std::string(name) + " dbeta", gdb, dbeta);
  if (!ws.empty() && layer_norm_backward(dy.data(), x.data(), gamma.data(), meanf.data(), rstdf.data(), gdx.data(),
                                         gdg.data(), gdb.data(), rows, cols, ws.data(), int64_t(ws.size()) - 1,
                                         nullptr) != cudaErrorInvalidValue) {
    std::printf("FAIL %s: a too-small workspace was accepted\n", name);
    ++failed;
  }
}

int main() {
  embedding_case(0, 5, 3, false);
  embedding_case(0, 0, 4, false);
  embedding_case(1, 1, 1, false);
  embedding_case(7, 5, 33, true);
  embedding_case(300, 50, 3, true);   // many repeats per row
  embedding_case(40, 11, 300, false);  // rows wider than a block

  layernorm_case(1, 1, 0.0f, 1e-3f);
  layernorm_case(3, 5, 0.0f, 1e-3f);
  layernorm_case(17, 255, 0.0f, 1e-5f);
  layernorm_case(5, 257, 1000.0f, 1e-3f);  // |mean| >> std
  layernorm_case(130, 33, 0.0f, 1e-3f);    // three dgamma partials, the last one short
  layernorm_case(4, 600, 0.5f, 0.0f);      // eps 0: the constant row is inf/NaN as on the CPU
  layernorm_case(3, 0, 0.0f, 1e-3f);       // no columns: mean 0, rstd 1/sqrt(eps)
  layernorm_case(0, 7, 0.0f, 1e-3f);       // no rows: zero dgamma, dbeta
  return report();
}
