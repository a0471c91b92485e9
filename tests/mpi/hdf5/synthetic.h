// Deterministic synthetic results for the HDF5 tests: every value of a row is a
// function of its split and position, so any rank can compute what any row must hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pixelmill/image_result.h"

namespace pm::test {

inline constexpr int kDim = 7;

// Rows in split `s`: uneven, with some empty splits.
inline std::size_t rows_in_split(std::uint64_t s) {
  static const std::size_t sizes[] = {5, 0, 13, 1, 0, 8, 21, 2, 0, 3, 17};
  return sizes[s % (sizeof sizes / sizeof sizes[0])];
}

// A binary key: holds 0x00 and 0xFF, lengths vary from 1 to a few hundred bytes.
inline std::string synthetic_key(std::uint64_t s, std::size_t i) {
  std::string key = "s" + std::to_string(s) + "/" + std::to_string(i);
  key.push_back('\0');
  key.push_back(static_cast<char>(0xFF));
  if ((s + i) % 5 == 0) key.append(300 + i, static_cast<char>('a' + (i % 26)));
  return key;
}

inline ImageResult synthetic_row(std::uint64_t s, std::size_t i) {
  ImageResult r;
  r.key = synthetic_key(s, i);
  const std::uint64_t id = s * 1000 + i;
  if (id % 4 == 3) {
    // Failed: long messages with multi-byte UTF-8 near the 160-byte cut.
    std::string message = "decode failed for row " + std::to_string(id) + ": ";
    while (message.size() < 159) message += "x";
    message += "\xC3\xA9\xC3\xA9 tail";  // "é" at bytes 159-160: the cut splits it
    r.status = Status::error(StatusCode::kCorrupt, id % 8 == 3 ? message : "truncated");
  } else {
    r.embedding.resize(kDim);
    for (int d = 0; d < kDim; ++d) r.embedding[static_cast<std::size_t>(d)] = static_cast<float>(id) + 0.125f * static_cast<float>(d);
  }
  for (std::size_t b = 0; b < r.content_hash.size(); ++b)
    r.content_hash[b] = static_cast<std::uint8_t>((id * 31 + b * 7) & 0xFF);
  r.phash = 0xF00DF00D00000000ull ^ id;
  r.width = static_cast<std::int32_t>(100 + id);
  r.height = static_cast<std::int32_t>(50 + id);
  r.timestamp = 1700000000000 + static_cast<std::int64_t>(id);
  return r;
}

inline SplitResults synthetic_split(std::uint64_t s) {
  SplitResults out;
  out.split_index = s;
  for (std::size_t i = 0; i < rows_in_split(s); ++i) out.rows.push_back(synthetic_row(s, i));
  return out;
}

// All rows of a plan of `total` splits, in file order.
inline std::vector<ImageResult> expected_rows(std::uint64_t total) {
  std::vector<ImageResult> rows;
  for (std::uint64_t s = 0; s < total; ++s)
    for (std::size_t i = 0; i < rows_in_split(s); ++i) rows.push_back(synthetic_row(s, i));
  return rows;
}

// What the error field must hold. Long messages are built so that byte 160 falls inside
// a two-byte character that starts at byte 159: the whole character must be dropped.
inline std::string expected_error(const std::string& message) {
  return message.size() <= 160 ? message : message.substr(0, 159);
}

}  // namespace pm::test
