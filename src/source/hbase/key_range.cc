#include "key_range.h"

#include <algorithm>
#include <cstdint>

#include "pixelmill/hbase.h"

namespace pm::hbase {

std::optional<KeyRange> clip(const KeyRange& region, const KeyRange& range) {
  KeyRange out;
  out.start = (range.start.empty() || region.start > range.start) ? region.start : range.start;
  if (region.stop.empty())
    out.stop = range.stop;
  else if (range.stop.empty())
    out.stop = region.stop;
  else
    out.stop = std::min(region.stop, range.stop);
  if (!out.stop.empty() && out.start >= out.stop) return std::nullopt;
  return out;
}

namespace {
// 8 bytes of `s` from `pos`, big-endian, padded with zero bytes.
std::uint64_t window(const std::string& s, std::size_t pos) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    const std::size_t j = pos + i;
    v = (v << 8) | (j < s.size() ? static_cast<unsigned char>(s[j]) : 0u);
  }
  return v;
}
}  // namespace

std::vector<std::string> cut_points(const std::string& lo, const std::string& hi, int n) {
  std::vector<std::string> cuts;
  if (n < 2 || !(lo < hi)) return cuts;
  std::size_t p = 0;
  while (p < lo.size() && p < hi.size() && lo[p] == hi[p]) ++p;
  const std::uint64_t a = window(lo, p);
  const std::uint64_t b = window(hi, p);
  if (b <= a) return cuts;
  const std::uint64_t span = b - a;
  const std::string prefix = lo.substr(0, p);
  for (int i = 1; i < n; ++i) {
    // a + span*i/n without overflow.
    const auto ui = static_cast<std::uint64_t>(i);
    const auto un = static_cast<std::uint64_t>(n);
    const std::uint64_t v = a + (span / un) * ui + (span % un) * ui / un;
    std::string key = prefix;
    for (int byte = 7; byte >= 0; --byte) key.push_back(static_cast<char>((v >> (8 * byte)) & 0xff));
    // Trailing zero bytes only lengthen the key; drop them while it stays above lo.
    while (key.size() > prefix.size() + 1 && key.back() == '\0' && key.substr(0, key.size() - 1) > lo)
      key.pop_back();
    if (key > lo && key < hi && (cuts.empty() || key > cuts.back())) cuts.push_back(std::move(key));
  }
  return cuts;
}

std::string printable_key(const std::string& key, std::size_t max_len) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (out.size() >= max_len) {
      out += "...(" + std::to_string(key.size()) + " bytes)";
      break;
    }
    const auto c = static_cast<unsigned char>(key[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace pm::hbase

namespace pm {
std::string hbase_printable_key(const std::string& key) { return hbase::printable_key(key); }
}  // namespace pm
