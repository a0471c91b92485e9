// Pieces of the HTML report: escaping, base64 thumbnails, the inline SVG histogram.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pm::dedup {

std::string html_escape(const std::string& s);
std::string base64(const std::vector<std::uint8_t>& bytes);

// A JPEG data: URI of the image at `path` scaled to fit `side` x `side`, or "" when it
// cannot be read or decoded.
std::string thumbnail_data_uri(const std::string& path, int side);

// Histogram of two score series over [lo, 1] as an inline SVG: `background` (random pairs,
// grey) and `pairs` (kept pairs, orange), each scaled to its own tallest bin, with a
// vertical line at `threshold`.
std::string histogram_svg(const std::vector<float>& background, const std::vector<float>& pairs,
                          double threshold, int width, int height);

}  // namespace pm::dedup
