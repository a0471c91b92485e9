// pm.QGemm: a Gemm or MatMul of a QDQ model run in int8, made by the fuse_qdq_matmul pass
// from
//   Gemm(DequantizeLinear(QuantizeLinear(x, sx, zx)), DequantizeLinear(Wq, sw), C)
//   MatMul(DequantizeLinear(QuantizeLinear(x, sx, zx)), DequantizeLinear(Wq, sw))
// Inputs: x float32 [M, K] (a Gemm's) or [..., K] of any rank (a MatMul's, attribute
// matmul = 1), Wq int8 [K, N] ([N, K] with transB), sw float32 [N], bias float32 [N]
// optional (Gemm's C, dequantised when it was int32). Attributes: alpha, beta, transB
// (Gemm's; 1, 1, 0 for a MatMul), x_scale (float), x_zero_point (int), x_signed (0: uint8,
// 1: int8). Output float32 [..., N] (x's shape with K replaced by N):
//   y = alpha * (dq(q(x)) . (Wq * sw)) + beta * bias
// with q/dq as QuantizeLinear/DequantizeLinear define them: the QDQ chain's value. This
// reference kernel computes it that way, with Gemm's reference arithmetic on [M', K] rows
// (MatMul's reference sums the same products in the same order); the oneDNN kernel
// (matmul_int8_dnnl.cc) quantises x and multiplies in int8 with int32 sums. The two differ
// by float rounding, and where an activation sits at a rounding boundary, by one step:
// oneDNN quantises with x * (1/scale), the spec with x / scale.
#include "ops/op_util.h"
#include "ops/qdq_ref.h"

namespace pm::engine {

namespace {

std::vector<ValueType> infer_qgemm(const Node& n, const std::vector<ValueType>& in) {
  PM_OP_CHECK(n, in.size() >= 3 && n.has_input(1) && n.has_input(2), "needs X, W, W scales");
  const Dims& x = in[0].shape;
  const Dims& w = in[1].shape;
  if (n.attr_i("matmul", 0))
    PM_OP_CHECK(n, !x.empty(), "X must not be a scalar");
  else
    PM_OP_CHECK(n, x.size() == 2, "X must be 2-D, not " + dims_str(x));
  PM_OP_CHECK(n, in[1].dtype == DType::kI8, "weights must be int8, not " + dtype_name(in[1].dtype));
  PM_OP_CHECK(n, w.size() == 2, "weights must be a matrix, not " + dims_str(w));
  const bool tb = n.attr_i("transB", 0) != 0;
  const std::int64_t k = tb ? w[1] : w[0], nn = tb ? w[0] : w[1];
  PM_OP_CHECK(n, x.back() == k, "inner dimensions differ: " + dims_str(x) + " x " + dims_str(w) +
                                    (tb ? " (transB)" : ""));
  PM_OP_CHECK(n, in[2].dtype == DType::kF32 && dims_product(in[2].shape) == nn,
              "one float32 weight scale per output column expected");
  if (n.has_input(3))
    PM_OP_CHECK(n, in[3].dtype == DType::kF32 && dims_product(in[3].shape) == nn,
                "the bias must be float32, one value per output column");
  check_activation_quant(n);
  Dims out(x.begin(), x.end() - 1);
  out.push_back(nn);
  return {vt(DType::kF32, out)};
}

void ref_QGemm(const Node& n, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  // dq(q(x)) and the dequantised weights (scales along the output axis), as the QDQ graph
  // computes them.
  const bool tb = n.attr_i("transB", 0) != 0;
  const Tensor xd = fake_quantise_activation(n, *in[0]);
  const Tensor wd = dequantise_weights(*in[1], in[2]->ptr<float>(), tb ? 0 : 1);
  const std::int64_t k = xd.shape().back();
  const std::int64_t m = xd.numel() / k, nn = out[0].shape().back();
  Node gemm;
  gemm.op = "Gemm";
  gemm.name = n.name;
  for (const char* a : {"alpha", "beta", "transB"})
    if (n.has_attr(a)) gemm.attrs[a] = n.attrs.at(a);
  const Tensor x2 = xd.reshaped({m, k});
  std::vector<const Tensor*> args{&x2, &wd};
  Tensor bias;
  if (in.size() > 3 && in[3]) {
    bias = in[3]->reshaped({nn});
    args.push_back(&bias);
  }
  std::vector<Tensor> y2{out[0].reshaped({m, nn})};
  find_op("Gemm")->ref(gemm, args, y2);
}

}  // namespace

void register_qgemm_ops(OpTable& t) { t.add({"pm.QGemm", infer_qgemm, ref_QGemm}); }

}  // namespace pm::engine
