// encode_splits / decode_splits: a split plan as bytes, for MPI_Bcast from rank 0.
// Format (all integers little-endian, fixed width, so any bytes may appear in keys):
//   "PMSPLIT1" | u64 count | count x { u64 index | str start | str stop |
//   u64 item_count | item_count x str | i64 estimated_records }
// where str = u64 length | bytes. The decoder checks every length against what is
// left, so a truncated or foreign buffer throws instead of reading out of bounds.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixelmill/error.h"
#include "pixelmill/source.h"

namespace pm {

namespace {

constexpr std::string_view kMagic = "PMSPLIT1";

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

void put_str(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  std::uint64_t u64() {
    need(8, "an integer");
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i)
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }

  std::string str() {
    const std::uint64_t n = u64();
    need(n, "a string");
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }

  // A count of items each at least `min_bytes` long: checked against what is left so
  // that a corrupt count cannot make us reserve gigabytes.
  std::uint64_t count(std::uint64_t min_bytes) {
    const std::uint64_t n = u64();
    PM_CHECK(n <= (bytes_.size() - pos_) / min_bytes,
             "decode_splits: count " + std::to_string(n) + " exceeds the buffer");
    return n;
  }

  void magic() {
    need(kMagic.size(), "the header");
    PM_CHECK(bytes_.substr(0, kMagic.size()) == kMagic, "decode_splits: not a split plan");
    pos_ = kMagic.size();
  }

  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  void need(std::uint64_t n, const char* what) const {
    PM_CHECK(n <= bytes_.size() - pos_, std::string("decode_splits: truncated while reading ") +
                                            what + " at byte " + std::to_string(pos_));
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
};

// Smallest encoding of one split: index, two empty strings, zero items, estimate.
constexpr std::uint64_t kMinSplitBytes = 8 * 5;

}  // namespace

std::string encode_splits(const std::vector<SplitSpec>& splits) {
  std::string out(kMagic);
  put_u64(out, splits.size());
  for (const SplitSpec& s : splits) {
    put_u64(out, s.index);
    put_str(out, s.start);
    put_str(out, s.stop);
    put_u64(out, s.items.size());
    for (const std::string& item : s.items) put_str(out, item);
    put_u64(out, static_cast<std::uint64_t>(s.estimated_records));
  }
  return out;
}

std::vector<SplitSpec> decode_splits(const std::string& bytes) {
  Reader in(bytes);
  in.magic();
  const std::uint64_t n = in.count(kMinSplitBytes);
  std::vector<SplitSpec> splits;
  splits.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    SplitSpec s;
    s.index = in.u64();
    s.start = in.str();
    s.stop = in.str();
    const std::uint64_t items = in.count(8);
    s.items.reserve(items);
    for (std::uint64_t k = 0; k < items; ++k) s.items.push_back(in.str());
    s.estimated_records = static_cast<std::int64_t>(in.u64());
    splits.push_back(std::move(s));
  }
  PM_CHECK(in.at_end(), "decode_splits: trailing bytes after the last split");
  return splits;
}

}  // namespace pm
