// forgenet's kernels as XLA FFI handlers, for forgenet.jax's jax.ffi.ffi_call route. Each handler runs
// its family's contract (bindings/contracts/) on the buffers XLA hands it, then the csrc/cpu entry the
// _C binding calls, writing straight into XLA's result buffers. They live in _C, so the process has one
// copy of the kernels and one thread pool. Built only with FORGENET_HAVE_XLA_FFI (CMake found jaxlib's
// headers); otherwise _xla_ffi_targets() returns None and forgenet.jax keeps its callback path.
#include "bindings/bindings.h"

namespace py = pybind11;

#ifdef FORGENET_HAVE_XLA_FFI

#include <algorithm>

#include "bindings/contracts/attention.h"
#include "bindings/contracts/embedding.h"
#include "bindings/contracts/gemm.h"
#include "bindings/contracts/layernorm.h"
#include "bindings/contracts/lstm.h"
#include "bindings/contracts/softmax.h"
#include "bindings/contracts/window.h"
#include "bindings/xla_ffi.h"
#include "cpu/attention.h"
#include "cpu/conv2d.h"
#include "cpu/embedding.h"
#include "cpu/gemm.h"
#include "cpu/layernorm.h"
#include "cpu/lstm.h"
#include "cpu/pooling.h"
#include "cpu/softmax.h"

namespace forgenet::xffi {

namespace {

using Buf = ffi::AnyBuffer;
using Res = ffi::Result<ffi::AnyBuffer>;

// ---------------------------------------------------------------------------------------------- gemm
ffi::Error gemm(Buf a_in, Buf b_in, const Buf* c_in, Res out_in, bool ta, bool tb, float alpha, float beta) {
  const char* op = "gemm";
  return guarded(op, [&] {
    const Batch batch = batch_of(*out_in, 2);
    const Operand a(a_in, batch, op, "a"), b(b_in, batch, op, "b"), out(*out_in, batch, op, "the output");
    Operand c;
    if (c_in) c = Operand(*c_in, batch, op, "c");
    const auto s = contract::gemm(op, a.d, b.d, c_in ? &c.d : nullptr, ta, tb, beta);
    require_result(out, op, "the output", {s.m, s.n}, {{"a", &a}, {"b", &b}, {"c", c_in ? &c : nullptr}});
    // beta == 0: the kernel treats the output as write-only, as with c absent (the binding's rule)
    const bool copy_c = c_in && beta != 0.0f && s.m * s.n > 0;
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      float* y = out.at(i);
      if (copy_c) std::copy(c.at(i), c.at(i) + s.m * s.n, y);
      sgemm(ta, tb, s.m, s.n, s.k, alpha, a.at(i), a.d.dim(1), b.at(i), b.d.dim(1), beta, y, s.n);
    });
  });
}

ffi::Error gemm_ab(Buf a, Buf b, Res out, bool ta, bool tb, float alpha, float beta) {
  return gemm(a, b, nullptr, out, ta, tb, alpha, beta);
}
ffi::Error gemm_abc(Buf a, Buf b, Buf c, Res out, bool ta, bool tb, float alpha, float beta) {
  return gemm(a, b, &c, out, ta, tb, alpha, beta);
}

// -------------------------------------------------------------------------------------------- conv2d
ffi::Error conv2d(Buf x_in, Buf k_in, const Buf* bias_in, Res y_in, int64_t sh, int64_t sw, bool same) {
  const char* op = "conv2d";
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, 4);
    const Operand x(x_in, batch, op, "x"), k(k_in, batch, op, "kernel"), y(*y_in, batch, op, "y");
    Operand bias;
    if (bias_in) bias = Operand(*bias_in, batch, op, "bias");
    const auto p = contract::conv_forward(op, x.d, k.d, bias_in ? &bias.d : nullptr, {sh, sw}, same);
    require_result(y, op, "y", contract::out_shape(p.g, p.cout),
                   {{"x", &x}, {"kernel", &k}, {"bias", bias_in ? &bias : nullptr}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      conv2d_forward(p.g, p.cout, x.at(i), k.at(i), bias_in ? bias.at(i) : nullptr, y.at(i));
    });
  });
}

ffi::Error conv2d_nobias(Buf x, Buf k, Res y, int64_t sh, int64_t sw, bool same) {
  return conv2d(x, k, nullptr, y, sh, sw, same);
}
ffi::Error conv2d_bias(Buf x, Buf k, Buf bias, Res y, int64_t sh, int64_t sw, bool same) {
  return conv2d(x, k, &bias, y, sh, sw, same);
}

// dx_in null: the kernel and bias gradients only (need_dx=False: a first layer's input needs none).
ffi::Error conv2d_backward(Buf dy_in, Buf x_in, Buf k_in, Res* dx_in, Res dk_in, Res db_in, int64_t sh, int64_t sw,
                           bool same) {
  const char* op = "conv2d_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dk_in, 4);
    const Operand dy(dy_in, batch, op, "dy"), x(x_in, batch, op, "x"), k(k_in, batch, op, "kernel");
    const Operand dk(*dk_in, batch, op, "dkernel"), db(*db_in, batch, op, "dbias");
    Operand dx;
    if (dx_in) dx = Operand(**dx_in, batch, op, "dx");
    const auto p = contract::conv_backward(op, dy.d, x.d, k.d, {sh, sw}, same);
    const auto in = {std::pair<const char*, const Operand*>{"dy", &dy}, {"x", &x}, {"kernel", &k}};
    if (dx_in) require_result(dx, op, "dx", x.d.shape, in);
    require_result(dk, op, "dkernel", k.d.shape, in);
    require_result(db, op, "dbias", {p.cout}, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      forgenet::conv2d_backward(p.g, p.cout, dy.at(i), x.at(i), k.at(i), dx_in ? dx.at(i) : nullptr, dk.at(i),
                                db.at(i));
    });
  });
}

ffi::Error conv2d_backward_all(Buf dy, Buf x, Buf k, Res dx, Res dk, Res db, int64_t sh, int64_t sw, bool same) {
  return conv2d_backward(dy, x, k, &dx, dk, db, sh, sw, same);
}
ffi::Error conv2d_backward_weights(Buf dy, Buf x, Buf k, Res dk, Res db, int64_t sh, int64_t sw, bool same) {
  return conv2d_backward(dy, x, k, nullptr, dk, db, sh, sw, same);
}

// ----------------------------------------------------------------------------------------- attention
ffi::Error attention(Buf q_in, Buf k_in, Buf v_in, Res o_in, Res lse_in, bool causal, bool has_scale, double scale) {
  const char* op = "attention";
  return guarded(op, [&] {
    const Batch batch = batch_of(*o_in, 4);
    const Operand q(q_in, batch, op, "q"), k(k_in, batch, op, "k"), v(v_in, batch, op, "v");
    const Operand o(*o_in, batch, op, "o"), lse(*lse_in, batch, op, "lse");
    const AttnShape s = contract::attention_forward(op, q.d, k.d, v.d, causal, has_scale, scale);
    const auto in = {std::pair<const char*, const Operand*>{"q", &q}, {"k", &k}, {"v", &v}};
    require_result(o, op, "o", contract::attention_o_shape(q.d, s), in);
    require_result(lse, op, "lse", contract::attention_lse_shape(q.d, s), in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      attention_forward(s, q.at(i), k.at(i), v.at(i), o.at(i), lse.at(i));
    });
  });
}

ffi::Error attention_backward(Buf do_in, Buf q_in, Buf k_in, Buf v_in, Buf o_in, Buf lse_in, Res dq_in, Res dk_in,
                              Res dv_in, bool causal, bool has_scale, double scale) {
  const char* op = "attention_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dq_in, 4);
    const Operand dout(do_in, batch, op, "do"), q(q_in, batch, op, "q"), k(k_in, batch, op, "k"),
        v(v_in, batch, op, "v"), o(o_in, batch, op, "o"), lse(lse_in, batch, op, "lse");
    const Operand dq(*dq_in, batch, op, "dq"), dk(*dk_in, batch, op, "dk"), dv(*dv_in, batch, op, "dv");
    const AttnShape s = contract::attention_backward(op, dout.d, q.d, k.d, v.d, o.d, lse.d, causal, has_scale, scale);
    const auto in = {std::pair<const char*, const Operand*>{"do", &dout}, {"q", &q}, {"k", &k},
                     {"v", &v}, {"o", &o}, {"lse", &lse}};
    require_result(dq, op, "dq", q.d.shape, in);
    require_result(dk, op, "dk", k.d.shape, in);
    require_result(dv, op, "dv", v.d.shape, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      forgenet::attention_backward(s, dout.at(i), q.at(i), k.at(i), v.at(i), o.at(i), lse.at(i), dq.at(i), dk.at(i),
                                   dv.at(i));
    });
  });
}

// ---------------------------------------------------------------------------------------------- lstm
// The forward always writes the reserve (the binding allocates one even when not training: the kernel
// needs it); forgenet.jax drops it outside a gradient.
ffi::Error lstm(Buf x_in, Buf h0_in, Buf c0_in, Buf k_in, Buf rk_in, Buf b_in, Res y_in, Res h_in, Res c_in,
                Res r_in) {
  const char* op = "lstm";
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, 3);
    const Operand x(x_in, batch, op, "x"), h0(h0_in, batch, op, "h0"), c0(c0_in, batch, op, "c0"),
        k(k_in, batch, op, "kernel"), rk(rk_in, batch, op, "recurrent_kernel"), bias(b_in, batch, op, "bias");
    const Operand y(*y_in, batch, op, "y"), hT(*h_in, batch, op, "h_T"), cT(*c_in, batch, op, "c_T"),
        reserve(*r_in, batch, op, "reserve");
    const LstmShape d = contract::lstm_forward(op, {&x.d, &h0.d, &c0.d, &k.d, &rk.d, &bias.d});
    const auto in = {std::pair<const char*, const Operand*>{"x", &x}, {"h0", &h0}, {"c0", &c0}, {"kernel", &k},
                     {"recurrent_kernel", &rk}, {"bias", &bias}};
    require_result(y, op, "y", {d.n, d.t, d.u}, in);
    require_result(hT, op, "h_T", {d.n, d.u}, in);
    require_result(cT, op, "c_T", {d.n, d.u}, in);
    require_result(reserve, op, "reserve", contract::lstm_reserve_shape(d), in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      lstm_forward(x.at(i), h0.at(i), c0.at(i), k.at(i), rk.at(i), bias.at(i), d.n, d.t, d.d, d.u, y.at(i), hT.at(i),
                   cT.at(i), reserve.at(i));
    });
  });
}

ffi::Error lstm_backward(Buf dy_in, Buf dh_in, Buf dc_in, Buf x_in, Buf h0_in, Buf c0_in, Buf k_in, Buf rk_in,
                         Buf b_in, Buf r_in, Res dx_in, Res dh0_in, Res dc0_in, Res dk_in, Res drk_in, Res db_in) {
  const char* op = "lstm_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dh0_in, 2);
    const Operand dy(dy_in, batch, op, "dy"), dhT(dh_in, batch, op, "dh_T"), dcT(dc_in, batch, op, "dc_T"),
        x(x_in, batch, op, "x"), h0(h0_in, batch, op, "h0"), c0(c0_in, batch, op, "c0"), k(k_in, batch, op, "kernel"),
        rk(rk_in, batch, op, "recurrent_kernel"), bias(b_in, batch, op, "bias"), reserve(r_in, batch, op, "reserve");
    const Operand dx(*dx_in, batch, op, "dx"), dh0(*dh0_in, batch, op, "dh0"), dc0(*dc0_in, batch, op, "dc0"),
        dk(*dk_in, batch, op, "dkernel"), drk(*drk_in, batch, op, "drecurrent_kernel"), db(*db_in, batch, op, "dbias");
    const LstmShape d = contract::lstm_backward(op, {&x.d, &h0.d, &c0.d, &k.d, &rk.d, &bias.d}, reserve.d, &dy.d,
                                                &dhT.d, &dcT.d);
    const auto in = {std::pair<const char*, const Operand*>{"x", &x}, {"h0", &h0}, {"c0", &c0}, {"kernel", &k},
                     {"recurrent_kernel", &rk}, {"bias", &bias}, {"reserve", &reserve}, {"dy", &dy},
                     {"dh_T", &dhT}, {"dc_T", &dcT}};
    require_result(dx, op, "dx", {d.n, d.t, d.d}, in);
    require_result(dh0, op, "dh0", {d.n, d.u}, in);
    require_result(dc0, op, "dc0", {d.n, d.u}, in);
    require_result(dk, op, "dkernel", k.d.shape, in);
    require_result(drk, op, "drecurrent_kernel", rk.d.shape, in);
    require_result(db, op, "dbias", bias.d.shape, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      forgenet::lstm_backward(dy.at(i), dhT.at(i), dcT.at(i), x.at(i), h0.at(i), c0.at(i), k.at(i), rk.at(i),
                              reserve.at(i), d.n, d.t, d.d, d.u, dx.at(i), dh0.at(i), dc0.at(i), dk.at(i), drk.at(i),
                              db.at(i));
    });
  });
}

// ------------------------------------------------------------------------------------------- softmax
// Over the last axis of any rank >= 1 (forgenet.jax moves the axis last): `rank` is the op's own rank
// of x, the leading axes beyond it are vmap's.
ffi::Error softmax(Buf x_in, Res y_in, int64_t rank) {
  const char* op = "softmax";
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, static_cast<size_t>(rank));
    const Operand x(x_in, batch, op, "x"), y(*y_in, batch, op, "y");
    const auto r = contract::softmax_forward(op, x.d);
    require_result(y, op, "y", x.d.shape, {{"x", &x}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) { softmax_rows(x.at(i), y.at(i), r.rows, r.cols); });
  });
}

ffi::Error softmax_backward(Buf dy_in, Buf y_in, Res dx_in, int64_t rank) {
  const char* op = "softmax_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dx_in, static_cast<size_t>(rank));
    const Operand dy(dy_in, batch, op, "dy"), y(y_in, batch, op, "y"), dx(*dx_in, batch, op, "dx");
    const auto r = contract::softmax_backward(op, dy.d, y.d);
    require_result(dx, op, "dx", y.d.shape, {{"dy", &dy}, {"y", &y}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      softmax_backward_rows(y.at(i), dy.at(i), dx.at(i), r.rows, r.cols);
    });
  });
}

// ---------------------------------------------------------------------------------------- layer norm
// x (..., C) of the op's own rank `rank`; mean and rstd x's shape without its last axis.
ffi::Error layer_norm(Buf x_in, Buf g_in, Buf b_in, Res y_in, Res m_in, Res r_in, int64_t rank, double eps) {
  const char* op = "layer_norm";
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, static_cast<size_t>(rank));
    const Operand x(x_in, batch, op, "x"), gamma(g_in, batch, op, "gamma"), beta(b_in, batch, op, "beta");
    const Operand y(*y_in, batch, op, "y"), mean(*m_in, batch, op, "mean"), rstd(*r_in, batch, op, "rstd");
    const auto r = contract::layer_norm_forward(op, x.d, gamma.d, beta.d, eps);
    const auto stats = contract::stat_shape(x.d);
    const auto in = {std::pair<const char*, const Operand*>{"x", &x}, {"gamma", &gamma}, {"beta", &beta}};
    require_result(y, op, "y", x.d.shape, in);
    require_result(mean, op, "mean", stats, in);
    require_result(rstd, op, "rstd", stats, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      forgenet::layer_norm_forward(x.at(i), gamma.at(i), beta.at(i), y.at(i), mean.at(i), rstd.at(i), r.rows, r.cols,
                                   static_cast<float>(eps));
    });
  });
}

ffi::Error layer_norm_backward(Buf dy_in, Buf x_in, Buf g_in, Buf m_in, Buf r_in, Res dx_in, Res dg_in, Res db_in,
                               int64_t rank) {
  const char* op = "layer_norm_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dx_in, static_cast<size_t>(rank));
    const Operand dy(dy_in, batch, op, "dy"), x(x_in, batch, op, "x"), gamma(g_in, batch, op, "gamma"),
        mean(m_in, batch, op, "mean"), rstd(r_in, batch, op, "rstd");
    const Operand dx(*dx_in, batch, op, "dx"), dgamma(*dg_in, batch, op, "dgamma"), dbeta(*db_in, batch, op, "dbeta");
    const auto r = contract::layer_norm_backward(op, dy.d, x.d, gamma.d, mean.d, rstd.d);
    const auto in = {std::pair<const char*, const Operand*>{"dy", &dy}, {"x", &x}, {"gamma", &gamma},
                     {"mean", &mean}, {"rstd", &rstd}};
    require_result(dx, op, "dx", x.d.shape, in);
    require_result(dgamma, op, "dgamma", {r.cols}, in);
    require_result(dbeta, op, "dbeta", {r.cols}, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      forgenet::layer_norm_backward(dy.at(i), x.at(i), gamma.at(i), mean.at(i), rstd.at(i), dx.at(i), dgamma.at(i),
                                    dbeta.at(i), r.rows, r.cols);
    });
  });
}

// ------------------------------------------------------------------------------------------- pooling
contract::WindowArgs pool_window(int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same) {
  return {{ph, pw}, {sh, sw}, same};
}

ffi::Error pool(const char* op, bool is_max, Buf x_in, Res y_in, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                bool same) {
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, 4);
    const Operand x(x_in, batch, op, "x"), y(*y_in, batch, op, "y");
    const Window2d g = contract::pool_forward(op, x.d, pool_window(ph, pw, sh, sw, same));
    require_result(y, op, "y", contract::out_shape(g, g.c), {{"x", &x}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      (is_max ? max_pool2d_forward : avg_pool2d_forward)(g, x.at(i), y.at(i));
    });
  });
}

ffi::Error pool_backward(const char* op, bool is_max, Buf dy_in, Buf x_in, Res dx_in, int64_t ph, int64_t pw,
                         int64_t sh, int64_t sw, bool same) {
  return guarded(op, [&] {
    const Batch batch = batch_of(*dx_in, 4);
    const Operand dy(dy_in, batch, op, "dy"), x(x_in, batch, op, "x"), dx(*dx_in, batch, op, "dx");
    const Window2d g = contract::pool_backward(op, dy.d, x.d, pool_window(ph, pw, sh, sw, same));
    require_result(dx, op, "dx", x.d.shape, {{"dy", &dy}, {"x", &x}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      if (is_max)
        max_pool2d_backward(g, dy.at(i), x.at(i), dx.at(i));
      else
        avg_pool2d_backward(g, dy.at(i), dx.at(i));
    });
  });
}

ffi::Error max_pool(Buf x, Res y, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same) {
  return pool("max_pool2d", true, x, y, ph, pw, sh, sw, same);
}
ffi::Error avg_pool(Buf x, Res y, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same) {
  return pool("avg_pool2d", false, x, y, ph, pw, sh, sw, same);
}
ffi::Error max_pool_backward(Buf dy, Buf x, Res dx, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same) {
  return pool_backward("max_pool2d_backward", true, dy, x, dx, ph, pw, sh, sw, same);
}
ffi::Error avg_pool_backward(Buf dy, Buf x, Res dx, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same) {
  return pool_backward("avg_pool2d_backward", false, dy, x, dx, ph, pw, sh, sw, same);
}

// ----------------------------------------------------------------------------------------- embedding
// ids of the op's own rank `rank` (any integer type, widened as forgenet.kernels does), the table
// (input_dim, output_dim). A bad id: the kernel reports the first one (flat index within the call's
// slice), contract::bad_id words it.

ffi::Error embedding(Buf ids_in, Buf table_in, Res y_in, int64_t rank) {
  const char* op = "embedding";
  return guarded(op, [&] {
    const Batch batch = batch_of(*y_in, static_cast<size_t>(rank) + 1);
    const Int64Operand ids(ids_in, batch, op, "ids");
    const Operand table(table_in, batch, op, "embeddings"), y(*y_in, batch, op, "the output");
    const Shape shape = contract::embedding_forward(op, ids.o.d, table.d);
    require_result(y, op, "the output", shape, {{"ids", &ids.o}, {"embeddings", &table}});
    const int64_t vocab = table.d.dim(0);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      const int64_t* id = ids.o.at<int64_t>(i);
      const int64_t bad = embedding_forward(id, ids.o.d.size(), table.at(i), vocab, table.d.dim(1), y.at(i));
      if (bad >= 0) contract::bad_id(op, id, bad, vocab);
    });
  });
}

ffi::Error embedding_backward(Buf dy_in, Buf ids_in, Res dt_in, int64_t input_dim) {
  const char* op = "embedding_backward";
  return guarded(op, [&] {
    const Batch batch = batch_of(*dt_in, 2);
    const Operand dy(dy_in, batch, op, "dy"), dtable(*dt_in, batch, op, "the gradient");
    const Int64Operand ids(ids_in, batch, op, "ids");
    const Shape shape = contract::embedding_backward(op, dy.d, ids.o.d, input_dim);
    require_result(dtable, op, "the gradient", shape, {{"dy", &dy}, {"ids", &ids.o}});
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      const int64_t* id = ids.o.at<int64_t>(i);
      const int64_t bad =
          forgenet::embedding_backward(dy.at(i), id, ids.o.d.size(), input_dim, dy.d.dim(-1), dtable.at(i));
      if (bad >= 0) contract::bad_id(op, id, bad, input_dim);
    });
  });
}

// ------------------------------------------------------------------------------ softmax cross-entropy
// Integer labels only (forgenet.jax's softmax_cross_entropy takes no soft targets): logits (N, C),
// labels (N,) of any integer type (widened) -> loss (N,), grad (N, C) = softmax(logits) - onehot. A bad
// label: the kernel reports its row; the words are bind_softmax.cpp's.
ffi::Error softmax_cross_entropy(Buf logits_in, Buf labels_in, Res loss_in, Res grad_in) {
  const char* op = "softmax_cross_entropy";
  return guarded(op, [&] {
    const Batch batch = batch_of(*grad_in, 2);
    const Operand logits(logits_in, batch, op, "logits"), loss(*loss_in, batch, op, "loss"),
        grad(*grad_in, batch, op, "grad");
    const Int64Operand labels(labels_in, batch, op, "labels");
    const auto r = contract::softmax_xent(op, logits.d, labels.o.d, true);
    const auto in = {std::pair<const char*, const Operand*>{"logits", &logits}, {"labels", &labels.o}};
    require_result(loss, op, "loss", {r.rows}, in);
    require_result(grad, op, "grad", {r.rows, r.cols}, in);
    for_each_index(batch, [&](const std::vector<int64_t>& i) {
      const int64_t* t = labels.o.at<int64_t>(i);
      const int64_t bad = softmax_xent_sparse(logits.at(i), t, loss.at(i), grad.at(i), r.rows, r.cols);
      if (bad >= 0) contract::bad_label(op, t, bad, r.cols);
    });
  });
}

}  // namespace

// --------------------------------------------------------------------------------------- the targets

#define FORGENET_GEMM_ATTRS Attr<bool>("trans_a").Attr<bool>("trans_b").Attr<float>("alpha").Attr<float>("beta")
#define FORGENET_WINDOW_ATTRS Attr<int64_t>("stride_h").Attr<int64_t>("stride_w").Attr<bool>("same")
#define FORGENET_ATTN_ATTRS Attr<bool>("causal").Attr<bool>("has_scale").Attr<double>("scale")

XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_gemm, gemm_ab,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_GEMM_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_gemm_c, gemm_abc,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_GEMM_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_conv2d, conv2d_nobias,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_WINDOW_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_conv2d_bias, conv2d_bias,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_WINDOW_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_conv2d_backward, conv2d_backward_all,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>()
                                  .FORGENET_WINDOW_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_conv2d_backward_weights, conv2d_backward_weights,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>()
                                  .FORGENET_WINDOW_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_attention, attention,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>()
                                  .FORGENET_ATTN_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_attention_backward, attention_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>()
                                  .Ret<Buf>().Ret<Buf>().Ret<Buf>().FORGENET_ATTN_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_lstm, lstm,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>()
                                  .Ret<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_lstm_backward, lstm_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>()
                                  .Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>()
                                  .Ret<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>());
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_softmax, softmax,
                              ffi::Ffi::Bind().Arg<Buf>().Ret<Buf>().Attr<int64_t>("rank"));
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_softmax_backward, softmax_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().Attr<int64_t>("rank"));
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_layer_norm, layer_norm,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>().Ret<Buf>()
                                  .Attr<int64_t>("rank").Attr<double>("epsilon"));
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_layer_norm_backward, layer_norm_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>().Arg<Buf>()
                                  .Ret<Buf>().Ret<Buf>().Ret<Buf>().Attr<int64_t>("rank"));
#define FORGENET_POOL_ATTRS Attr<int64_t>("pool_h").Attr<int64_t>("pool_w").FORGENET_WINDOW_ATTRS
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_max_pool2d, max_pool,
                              ffi::Ffi::Bind().Arg<Buf>().Ret<Buf>().FORGENET_POOL_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_avg_pool2d, avg_pool,
                              ffi::Ffi::Bind().Arg<Buf>().Ret<Buf>().FORGENET_POOL_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_max_pool2d_backward, max_pool_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_POOL_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_avg_pool2d_backward, avg_pool_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().FORGENET_POOL_ATTRS);
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_embedding, embedding,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().Attr<int64_t>("rank"));
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_embedding_backward, embedding_backward,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().Attr<int64_t>("input_dim"));
XLA_FFI_DEFINE_HANDLER_SYMBOL(forgenet_xla_softmax_cross_entropy, softmax_cross_entropy,
                              ffi::Ffi::Bind().Arg<Buf>().Arg<Buf>().Ret<Buf>().Ret<Buf>());

}  // namespace forgenet::xffi

namespace forgenet::bind {

void bind_xla_ffi(py::module_& m) {
  m.def("_xla_ffi_targets", []() {
    py::dict d;
    auto add = [&](const char* name, XLA_FFI_Error* (*fn)(XLA_FFI_CallFrame*)) {
      d[name] = py::capsule(reinterpret_cast<void*>(fn));
    };
    add("forgenet_gemm", &xffi::forgenet_xla_gemm);
    add("forgenet_gemm_c", &xffi::forgenet_xla_gemm_c);
    add("forgenet_conv2d", &xffi::forgenet_xla_conv2d);
    add("forgenet_conv2d_bias", &xffi::forgenet_xla_conv2d_bias);
    add("forgenet_conv2d_backward", &xffi::forgenet_xla_conv2d_backward);
    add("forgenet_conv2d_backward_weights", &xffi::forgenet_xla_conv2d_backward_weights);
    add("forgenet_attention", &xffi::forgenet_xla_attention);
    add("forgenet_attention_backward", &xffi::forgenet_xla_attention_backward);
    add("forgenet_lstm", &xffi::forgenet_xla_lstm);
    add("forgenet_lstm_backward", &xffi::forgenet_xla_lstm_backward);
    add("forgenet_softmax", &xffi::forgenet_xla_softmax);
    add("forgenet_softmax_backward", &xffi::forgenet_xla_softmax_backward);
    add("forgenet_layer_norm", &xffi::forgenet_xla_layer_norm);
    add("forgenet_layer_norm_backward", &xffi::forgenet_xla_layer_norm_backward);
    add("forgenet_max_pool2d", &xffi::forgenet_xla_max_pool2d);
    add("forgenet_avg_pool2d", &xffi::forgenet_xla_avg_pool2d);
    add("forgenet_max_pool2d_backward", &xffi::forgenet_xla_max_pool2d_backward);
    add("forgenet_avg_pool2d_backward", &xffi::forgenet_xla_avg_pool2d_backward);
    add("forgenet_embedding", &xffi::forgenet_xla_embedding);
    add("forgenet_embedding_backward", &xffi::forgenet_xla_embedding_backward);
    add("forgenet_softmax_cross_entropy", &xffi::forgenet_xla_softmax_cross_entropy);
    return d;
  }, "{target name: PyCapsule of its XLA FFI handler} for jax.ffi.register_ffi_target (None: built without "
     "jaxlib's FFI headers).");
}

}  // namespace forgenet::bind

#else  // no FFI headers at build time

namespace forgenet::bind {

void bind_xla_ffi(py::module_& m) {
  m.def("_xla_ffi_targets", []() { return py::none(); },
        "None: this build found no jaxlib FFI headers (forgenet.jax runs every op through its callback path).");
}

}  // namespace forgenet::bind

#endif
