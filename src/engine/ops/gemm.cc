// Gemm (alpha*A'B' + beta*C) and MatMul (numpy batched matrix product) references.
#include "ops/op_util.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_gemm(const Node& n, const std::vector<ValueType>& in) {
  const Dims& a = in[0].shape;
  const Dims& b = in[1].shape;
  PM_OP_CHECK(n, a.size() == 2 && b.size() == 2, "A and B must be 2-D");
  const bool ta = n.attr_i("transA", 0) != 0, tb = n.attr_i("transB", 0) != 0;
  const std::int64_t m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  const std::int64_t kb = tb ? b[1] : b[0], nn = tb ? b[0] : b[1];
  PM_OP_CHECK(n, k == kb, "inner dimensions differ: " + dims_str(a) + " x " + dims_str(b));
  if (n.has_input(2)) broadcast_shapes(n, {m, nn}, in[2].shape);
  return {vt(DType::kF32, {m, nn})};
}

void ref_Gemm(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& A = *in[0];
  const Tensor& B = *in[1];
  const bool ta = n.attr_i("transA", 0) != 0, tb = n.attr_i("transB", 0) != 0;
  const float alpha = n.attr_f("alpha", 1.f), beta = n.attr_f("beta", 1.f);
  const std::int64_t m = out[0].shape()[0], nn = out[0].shape()[1];
  const std::int64_t k = ta ? A.shape()[0] : A.shape()[1];
  const float* a = A.ptr<float>();
  const float* b = B.ptr<float>();
  float* y = out[0].ptr<float>();
  const Tensor* C = in.size() > 2 ? in[2] : nullptr;
  std::vector<std::int64_t> cst;
  if (C) cst = broadcast_strides(C->shape(), {m, nn});
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < nn; ++j) {
      double acc = 0;
      for (std::int64_t p = 0; p < k; ++p) {
        const float av = ta ? a[p * m + i] : a[i * k + p];
        const float bv = tb ? b[j * k + p] : b[p * nn + j];
        acc += double(av) * double(bv);
      }
      double v = alpha * acc;
      if (C) v += double(beta) * C->ptr<float>()[i * cst[0] + j * cst[1]];
      y[i * nn + j] = float(v);
    }
  }
}

std::vector<ValueType> infer_matmul(const Node& n, const std::vector<ValueType>& in) {
  Dims a = in[0].shape, b = in[1].shape;
  PM_OP_CHECK(n, !a.empty() && !b.empty(), "scalar operands");
  const bool va = a.size() == 1, vb = b.size() == 1;
  if (va) a.insert(a.begin(), 1);
  if (vb) b.push_back(1);
  PM_OP_CHECK(n, a.back() == b[b.size() - 2], "inner dimensions differ: " + dims_str(in[0].shape) + " x " + dims_str(in[1].shape));
  Dims ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Dims out = broadcast_shapes(n, ba, bb);
  if (!va) out.push_back(a[a.size() - 2]);
  if (!vb) out.push_back(b.back());
  return {vt(DType::kF32, out)};
}

void ref_MatMul(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  Dims a = in[0]->shape(), b = in[1]->shape();
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  const std::int64_t m = a[a.size() - 2], k = a.back(), nn = b.back();
  Dims ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
  Dims batch = broadcast_shapes(n, ba, bb);
  auto sa = broadcast_strides(ba, batch), sb = broadcast_strides(bb, batch);
  const float* pa = in[0]->ptr<float>();
  const float* pb = in[1]->ptr<float>();
  float* py = out[0].ptr<float>();
  std::vector<std::int64_t> idx(batch.size(), 0);
  const std::int64_t nb = dims_product(batch);
  for (std::int64_t t = 0; t < nb; ++t) {
    std::int64_t oa = 0, ob = 0;
    for (std::size_t d = 0; d < batch.size(); ++d) {
      oa += idx[d] * sa[d];
      ob += idx[d] * sb[d];
    }
    const float* A = pa + oa * m * k;
    const float* B = pb + ob * k * nn;
    float* Y = py + t * m * nn;
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < nn; ++j) {
        double acc = 0;
        for (std::int64_t p = 0; p < k; ++p) acc += double(A[i * k + p]) * double(B[p * nn + j]);
        Y[i * nn + j] = float(acc);
      }
    for (std::size_t d = batch.size(); d-- > 0;) {
      if (++idx[d] < batch[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

void register_gemm_ops(OpTable& t) {
  t.add({"Gemm", infer_gemm, ref_Gemm});
  t.add({"MatMul", infer_matmul, ref_MatMul});
}

}  // namespace pm::engine
