#include <gtest/gtest.h>

#include <bit>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "phash_ref.h"
#include "pixelmill/hashes.h"

namespace pm {
namespace {

cv::Mat smooth_image(int h, int w, int seed) {
  cv::RNG rng(seed);
  cv::Mat small(8, 8, CV_8UC3);
  rng.fill(small, cv::RNG::UNIFORM, 0, 256);
  cv::Mat img;
  cv::resize(small, img, cv::Size(w, h), 0, 0, cv::INTER_CUBIC);
  cv::Mat noise(h, w, CV_8UC3);
  rng.fill(noise, cv::RNG::UNIFORM, 0, 20);
  img += noise;
  return img;
}

TEST(PerceptualHash, OptimizedMatchesReferenceOnManyImages) {
  int compared = 0;
  for (int seed = 1; seed <= 40; ++seed) {
    for (cv::Size s : {cv::Size(32, 32), cv::Size(100, 61), cv::Size(7, 300), cv::Size(640, 480)}) {
      cv::Mat img = smooth_image(s.height, s.width, seed);
      EXPECT_EQ(perceptual_hash(img), image::perceptual_hash_reference(img))
          << "seed " << seed << " size " << s;
      ++compared;
    }
    cv::Mat noise(50, 70, CV_8UC3);
    cv::RNG(seed).fill(noise, cv::RNG::UNIFORM, 0, 256);
    EXPECT_EQ(perceptual_hash(noise), image::perceptual_hash_reference(noise));
  }
  EXPECT_EQ(compared, 160);
}

TEST(PerceptualHash, HalfTheBitsAreSetAndEmptyGivesZero) {
  // Median threshold: exactly 32 coefficients above it when the 64 are distinct.
  const std::uint64_t h = perceptual_hash(smooth_image(200, 300, 3));
  EXPECT_EQ(std::popcount(h), 32);
  EXPECT_EQ(perceptual_hash(cv::Mat()), 0u);
}

TEST(PerceptualHash, NearDuplicatesAreCloseAndDifferentImagesFar) {
  const cv::Mat a = smooth_image(480, 640, 11);
  cv::Mat resized, brighter, recompressed;
  cv::resize(a, resized, cv::Size(200, 150), 0, 0, cv::INTER_AREA);
  a.convertTo(brighter, -1, 1.0, 12.0);
  EXPECT_LE(hamming(perceptual_hash(a), perceptual_hash(resized)), 4);
  EXPECT_LE(hamming(perceptual_hash(a), perceptual_hash(brighter)), 4);
  int far = 0;
  for (int seed = 100; seed < 110; ++seed)
    far += hamming(perceptual_hash(a), perceptual_hash(smooth_image(480, 640, seed))) >= 16;
  EXPECT_GE(far, 9);
}

TEST(PerceptualHash, GreyInputEqualsRgbWithEqualChannels) {
  cv::Mat g(64, 64, CV_8UC1);
  cv::RNG(5).fill(g, cv::RNG::UNIFORM, 0, 256);
  cv::Mat rgb;
  cv::cvtColor(g, rgb, cv::COLOR_GRAY2RGB);
  EXPECT_EQ(perceptual_hash(g), perceptual_hash(rgb));
}

TEST(Hamming, CountsDifferingBits) {
  EXPECT_EQ(hamming(0, 0), 0);
  EXPECT_EQ(hamming(0, ~std::uint64_t{0}), 64);
  EXPECT_EQ(hamming(0b1011, 0b0001), 2);
}

}  // namespace
}  // namespace pm
