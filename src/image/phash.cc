// 64-bit DCT perceptual hash. The low-frequency DCT coefficients describe the coarse
// structure of the picture, which survives resizing, recompression and small colour
// shifts; thresholding them at their median gives a balanced 64-bit signature whose
// Hamming distance measures visual difference.
#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "phash_ref.h"
#include "pixelmill/hashes.h"

namespace pm {
namespace image {

cv::Mat phash_input(const cv::Mat& rgb) {
  if (rgb.empty()) return {};
  cv::Mat gray;
  if (rgb.channels() == 3)
    cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  else if (rgb.channels() == 4)
    cv::cvtColor(rgb, gray, cv::COLOR_RGBA2GRAY);
  else
    gray = rgb;
  cv::Mat small, out;
  cv::resize(gray, small, cv::Size(32, 32), 0, 0, cv::INTER_AREA);
  small.convertTo(out, CV_64F);
  return out;
}

std::uint64_t phash_bits(const double coeffs[64]) {
  double sorted[64];
  std::copy(coeffs, coeffs + 64, sorted);
  std::sort(sorted, sorted + 64);
  const double median = 0.5 * (sorted[31] + sorted[32]);
  std::uint64_t h = 0;
  for (int i = 0; i < 64; ++i)
    if (coeffs[i] > median) h |= std::uint64_t{1} << i;
  return h;
}

std::uint64_t perceptual_hash_reference(const cv::Mat& rgb) {
  cv::Mat x = phash_input(rgb);
  if (x.empty()) return 0;
  constexpr int N = 32;
  const double pi = std::numbers::pi;
  double coeffs[64];
  for (int v = 0; v < 8; ++v) {
    for (int u = 0; u < 8; ++u) {
      // X[v][u] = a(v) a(u) sum_y sum_x x[y][x] cos(pi (2y+1) v / 2N) cos(pi (2x+1) u / 2N)
      double sum = 0;
      for (int y = 0; y < N; ++y)
        for (int xx = 0; xx < N; ++xx)
          sum += x.at<double>(y, xx) * std::cos(pi * (2 * y + 1) * v / (2.0 * N)) *
                 std::cos(pi * (2 * xx + 1) * u / (2.0 * N));
      const double av = v == 0 ? std::sqrt(1.0 / N) : std::sqrt(2.0 / N);
      const double au = u == 0 ? std::sqrt(1.0 / N) : std::sqrt(2.0 / N);
      coeffs[v * 8 + u] = av * au * sum;
    }
  }
  return phash_bits(coeffs);
}

}  // namespace image

std::uint64_t perceptual_hash(const cv::Mat& rgb) {
  cv::Mat x = image::phash_input(rgb);
  if (x.empty()) return 0;
  cv::Mat d;
  cv::dct(x, d);  // orthonormal DCT-II in double, same scaling as the reference formula
  double coeffs[64];
  for (int v = 0; v < 8; ++v)
    for (int u = 0; u < 8; ++u) coeffs[v * 8 + u] = d.at<double>(v, u);
  return image::phash_bits(coeffs);
}

int hamming(std::uint64_t a, std::uint64_t b) { return std::popcount(a ^ b); }

}  // namespace pm
