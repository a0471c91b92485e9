// Private to pm_image: EXIF orientation, read from a TIFF-structured EXIF block and
// applied to decoded pixels.
#pragma once

#include <string_view>

#include <opencv2/core/mat.hpp>

namespace pm::image {

// The Orientation tag (0x0112) of IFD0 of a TIFF structure ("II*\0" or "MM\0*" header;
// a leading "Exif\0\0" is skipped). Returns 1 when absent, malformed or out of 1..8.
int exif_orientation(std::string_view tiff);

// Turns an image stored with EXIF `orientation` upright (the same transforms, in the same
// order, as OpenCV's own ApplyExifOrientation). Orientations 5..8 swap width and height.
cv::Mat apply_orientation(const cv::Mat& img, int orientation);

inline bool orientation_swaps_axes(int orientation) { return orientation >= 5 && orientation <= 8; }

}  // namespace pm::image
