// Private to pm_image and its tests: the pieces of the perceptual hash, so that the
// optimized hash (cv::dct) and its plain reference twin (the DCT-II formula) share the
// same input and bit rule and differ only in the transform.
#pragma once

#include <cstdint>

#include <opencv2/core/mat.hpp>

namespace pm::image {

// Grayscale (ITU-R BT.601 weights, as cv::cvtColor) and INTER_AREA resize to 32x32, as
// CV_64F. Empty Mat for an empty input.
cv::Mat phash_input(const cv::Mat& rgb);

// The 8x8 low-frequency block (row-major, [v*8+u]) -> 64-bit hash: bit v*8+u set when the
// coefficient is greater than the median of the 64.
std::uint64_t phash_bits(const double coeffs[64]);

// Reference twin of perceptual_hash: the orthonormal 2-D DCT-II computed from its
// definition, only for the 64 coefficients that are kept.
std::uint64_t perceptual_hash_reference(const cv::Mat& rgb);

}  // namespace pm::image
