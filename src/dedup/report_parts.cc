#include "report_parts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "pixelmill/decode.h"
#include "pixelmill/extract.h"

namespace pm::dedup {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Keys are binary-safe: control bytes are shown as '?', not passed to the page.
        out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
    }
  }
  return out;
}

std::string base64(const std::vector<std::uint8_t>& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += table[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const std::uint32_t v = bytes[i] << 16;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += table[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

namespace {

// The decoded image (BGR) of the file at `path`, under extract's default limits, reduced
// in the JPEG decode when it is at least twice `side`; empty when it cannot be read.
struct Thumb {
  cv::Mat bgr;
  int width = 0, height = 0;  // full size
};
Thumb decode_for_thumbnail(const std::string& path, int side) {
  namespace fs = std::filesystem;
  const DecodeOptions limits = [side] {
    DecodeOptions o;
    o.max_bytes = ExtractOptions{}.max_bytes;
    o.max_pixels = ExtractOptions{}.max_pixels;
    o.target_width = o.target_height = side;  // a reduced JPEG decode when 2x larger
    return o;
  }();
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return {};
  const auto size = fs::file_size(path, ec);
  if (ec || size > static_cast<std::uintmax_t>(limits.max_bytes)) return {};
  std::string bytes(size, '\0');
  {
    std::ifstream in(path, std::ios::binary);
    if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) return {};
  }
  const DecodedImage d = decode_image(bytes, limits);
  if (!d.status.is_ok()) return {};
  Thumb t;
  cv::cvtColor(d.rgb, t.bgr, cv::COLOR_RGB2BGR);
  t.width = d.width;
  t.height = d.height;
  return t;
}

std::string encode_fit(cv::Mat img, int side) {
  const double scale = static_cast<double>(side) / std::max(img.cols, img.rows);
  if (scale < 1) {
    cv::Mat small;
    cv::resize(img, small, cv::Size(std::max(1, static_cast<int>(std::lround(img.cols * scale))),
                                    std::max(1, static_cast<int>(std::lround(img.rows * scale)))),
               0, 0, cv::INTER_AREA);
    img = small;
  }
  std::vector<std::uint8_t> jpeg;
  if (!cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 85})) return "";
  return "data:image/jpeg;base64," + base64(jpeg);
}

}  // namespace

std::string thumbnail_data_uri(const std::string& path, int side, const std::vector<std::array<float, 4>>& boxes) {
  Thumb t = decode_for_thumbnail(path, side);
  if (t.bgr.empty()) return "";
  // Boxes are in full-size pixels; the decode may be reduced.
  const double fx = static_cast<double>(t.bgr.cols) / std::max(1, t.width);
  const double fy = static_cast<double>(t.bgr.rows) / std::max(1, t.height);
  const int line = std::max(1, static_cast<int>(std::lround(std::max(t.bgr.cols, t.bgr.rows) / 100.0)));
  for (const auto& b : boxes) {
    if (!(std::isfinite(b[0]) && std::isfinite(b[1]) && std::isfinite(b[2]) && std::isfinite(b[3]))) continue;
    cv::rectangle(t.bgr, cv::Point(static_cast<int>(b[0] * fx), static_cast<int>(b[1] * fy)),
                  cv::Point(static_cast<int>(b[2] * fx), static_cast<int>(b[3] * fy)), cv::Scalar(0, 140, 255), line);
  }
  return encode_fit(t.bgr, side);
}

std::string crop_thumbnail_data_uri(const std::string& path, int side, const std::array<float, 4>& crop) {
  if (!(std::isfinite(crop[0]) && std::isfinite(crop[1]) && std::isfinite(crop[2]) && std::isfinite(crop[3])))
    return "";
  Thumb t = decode_for_thumbnail(path, 4 * side);  // a crop needs more of the picture's pixels
  if (t.bgr.empty()) return "";
  const double fx = static_cast<double>(t.bgr.cols) / std::max(1, t.width);
  const double fy = static_cast<double>(t.bgr.rows) / std::max(1, t.height);
  const int x0 = std::clamp(static_cast<int>(crop[0] * fx), 0, t.bgr.cols - 1);
  const int y0 = std::clamp(static_cast<int>(crop[1] * fy), 0, t.bgr.rows - 1);
  const int x1 = std::clamp(static_cast<int>(std::ceil(crop[2] * fx)), x0 + 1, t.bgr.cols);
  const int y1 = std::clamp(static_cast<int>(std::ceil(crop[3] * fy)), y0 + 1, t.bgr.rows);
  return encode_fit(t.bgr(cv::Rect(x0, y0, x1 - x0, y1 - y0)).clone(), side);
}

std::string contained_image_path(const std::string& root, const std::string& key) {
  namespace fs = std::filesystem;
  if (root.empty() || key.empty() || key.find('\0') != std::string::npos) return "";
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(root, ec);
  if (ec) return "";
  const fs::path k(key);
  // weakly_canonical resolves "..", "." and symbolic links, so what is left is where a
  // read would really go.
  const fs::path p = fs::weakly_canonical(k.is_absolute() ? k : base / k, ec);
  if (ec) return "";
  const fs::path rel = p.lexically_relative(base);
  if (rel.empty() || *rel.begin() == ".." || rel == ".") return "";
  return p.string();
}

std::string histogram_svg(const std::vector<float>& background, const std::vector<float>& pairs,
                          double threshold, int width, int height) {
  constexpr int kBins = 60;
  constexpr double kLo = -0.2, kHi = 1.0;
  auto bin_of = [](float v) {
    const int b = static_cast<int>(std::floor((v - kLo) / (kHi - kLo) * kBins));
    return std::clamp(b, 0, kBins - 1);
  };
  std::vector<std::int64_t> bg(kBins), fg(kBins);
  for (float v : background) ++bg[bin_of(v)];
  for (float v : pairs) ++fg[bin_of(v)];
  const double bg_max = std::max<std::int64_t>(1, *std::max_element(bg.begin(), bg.end()));
  const double fg_max = std::max<std::int64_t>(1, *std::max_element(fg.begin(), fg.end()));
  const int left = 40, bottom = 30, top = 10;
  const double plot_w = width - left - 10, plot_h = height - bottom - top;
  const double bw = plot_w / kBins;
  std::ostringstream o;
  o.precision(4);
  o << "<svg width='" << width << "' height='" << height
    << "' role='img' aria-label='similarity histogram'>";
  o << "<rect x='0' y='0' width='" << width << "' height='" << height << "' fill='#fff'/>";
  for (int b = 0; b < kBins; ++b) {
    const double x = left + b * bw;
    const double hb = plot_h * bg[b] / bg_max, hf = plot_h * fg[b] / fg_max;
    if (bg[b] > 0)
      o << "<rect x='" << x << "' y='" << top + plot_h - hb << "' width='" << bw * 0.9
        << "' height='" << hb << "' fill='#bbb'><title>random pairs " << bg[b] << "</title></rect>";
    if (fg[b] > 0)
      o << "<rect x='" << x + bw * 0.2 << "' y='" << top + plot_h - hf << "' width='" << bw * 0.6
        << "' height='" << hf << "' fill='#e67e22'><title>kept pairs " << fg[b] << "</title></rect>";
  }
  const double tx = left + (threshold - kLo) / (kHi - kLo) * plot_w;
  o << "<line x1='" << tx << "' x2='" << tx << "' y1='" << top << "' y2='" << top + plot_h
    << "' stroke='#c0392b' stroke-dasharray='4 3'/>";
  o << "<line x1='" << left << "' x2='" << left + plot_w << "' y1='" << top + plot_h << "' y2='"
    << top + plot_h << "' stroke='#333'/>";
  for (double t = -0.2; t <= 1.0001; t += 0.2) {
    const double x = left + (t - kLo) / (kHi - kLo) * plot_w;
    char label[16];
    std::snprintf(label, sizeof label, "%.1f", t);
    o << "<text x='" << x << "' y='" << height - 10 << "' font-size='11' text-anchor='middle'>"
      << label << "</text>";
  }
  o << "</svg>";
  return o.str();
}

}  // namespace pm::dedup
