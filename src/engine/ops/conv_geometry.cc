#include "ops/conv_geometry.h"

#include "ops/op_util.h"

namespace pm::engine {

Window2D window_2d(const Node& n, const Dims& x, std::int64_t kh, std::int64_t kw, bool ceil_mode) {
  PM_OP_CHECK(n, x.size() == 4 || x.size() == 3,
              "only 1-D and 2-D spatial inputs are supported, got " + dims_str(x));
  const bool one_d = x.size() == 3;
  Window2D w;
  w.ih = one_d ? 1 : x[2];
  w.iw = one_d ? x[2] : x[3];
  w.kh = kh;
  w.kw = kw;
  auto pick = [&](const char* key, std::int64_t def) {
    auto v = n.attr_ints(key);
    if (v.empty()) return std::vector<std::int64_t>(one_d ? 1 : 2, def);
    PM_OP_CHECK(n, v.size() == (one_d ? 1u : 2u), std::string("attribute ") + key + " has the wrong length");
    return v;
  };
  auto s = pick("strides", 1), d = pick("dilations", 1);
  w.sh = one_d ? 1 : s[0];
  w.sw = s.back();
  w.dh = one_d ? 1 : d[0];
  w.dw = d.back();
  PM_OP_CHECK(n, w.sh > 0 && w.sw > 0 && w.dh > 0 && w.dw > 0, "strides and dilations must be positive");
  const std::int64_t ekh = (kh - 1) * w.dh + 1, ekw = (kw - 1) * w.dw + 1;
  const std::string auto_pad = n.attr_s("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    auto same = [&](std::int64_t in, std::int64_t stride, std::int64_t ek, std::int64_t& lo, std::int64_t& hi) {
      const std::int64_t out = (in + stride - 1) / stride;
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * stride + ek - in);
      lo = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      hi = total - lo;
    };
    same(w.ih, w.sh, ekh, w.pt, w.pb);
    same(w.iw, w.sw, ekw, w.pl, w.pr);
  } else if (auto_pad == "VALID") {
    // no padding
  } else {
    PM_OP_CHECK(n, auto_pad == "NOTSET", "unknown auto_pad '" + auto_pad + "'");
    auto p = n.attr_ints("pads");
    if (!p.empty()) {
      if (one_d) {
        PM_OP_CHECK(n, p.size() == 2, "pads has the wrong length");
        w.pl = p[0];
        w.pr = p[1];
      } else {
        PM_OP_CHECK(n, p.size() == 4, "pads has the wrong length");
        w.pt = p[0];
        w.pl = p[1];
        w.pb = p[2];
        w.pr = p[3];
      }
    }
  }
  PM_OP_CHECK(n, w.pt >= 0 && w.pl >= 0 && w.pb >= 0 && w.pr >= 0, "negative pads");
  auto out_size = [&](std::int64_t in, std::int64_t lo, std::int64_t hi, std::int64_t ek, std::int64_t stride) {
    const std::int64_t span = in + lo + hi - ek;
    PM_OP_CHECK(n, span >= 0, "window larger than the padded input " + dims_str(x));
    std::int64_t o = ceil_mode ? (span + stride - 1) / stride + 1 : span / stride + 1;
    // ceil_mode: the last window must start inside the input or the left padding
    if (ceil_mode && (o - 1) * stride >= in + lo) --o;
    return o;
  };
  w.oh = out_size(w.ih, w.pt, w.pb, ekh, w.sh);
  w.ow = out_size(w.iw, w.pl, w.pr, ekw, w.sw);
  return w;
}

}  // namespace pm::engine
