// Pieces of the HTML report: escaping, base64 thumbnails, the inline SVG histogram.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pm::dedup {

std::string html_escape(const std::string& s);
std::string base64(const std::vector<std::uint8_t>& bytes);

// A JPEG data: URI of the image at `path` scaled to fit `side` x `side`, or "" when it
// cannot be read or decoded. Read and decoded under the same limits as extract's defaults
// (--max-bytes, --max-pixels; reduced-size JPEG decode): a report over an untrusted run
// file must not be a decompression bomb's way in.
// `boxes` (x0, y0, x1, y1 in the image's full-size pixels: /detections/box) are drawn on it.
std::string thumbnail_data_uri(const std::string& path, int side,
                               const std::vector<std::array<float, 4>>& boxes = {});
// The same of the part of the image inside `crop` (full-size pixels), without boxes.
std::string crop_thumbnail_data_uri(const std::string& path, int side, const std::array<float, 4>& crop);

// The image file of `key` under `root`, or "" when there is none to read: no root, a key
// with a NUL byte, or a key that leads out of the root (".." parts, an absolute path
// elsewhere, a symbolic link pointing out). Keys come from run files, which may be hostile.
std::string contained_image_path(const std::string& root, const std::string& key);

// Histogram of two score series over [lo, 1] as an inline SVG: `background` (random pairs,
// grey) and `pairs` (kept pairs, orange), each scaled to its own tallest bin, with a
// vertical line at `threshold`.
std::string histogram_svg(const std::vector<float>& background, const std::vector<float>& pairs,
                          double threshold, int width, int height);

}  // namespace pm::dedup
