// Typed variable-length gathers on top of pm::Comm, for vectors of trivially copyable
// values (row indices, (split, rows) pairs, ids). Collective over `comm`, like the
// Comm methods they use; implemented in the header because they are templates.
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "pixelmill/comm.h"

namespace pm {

// Every rank's `mine`, concatenated in rank order, on every rank.
template <typename T>
std::vector<T> allgatherv_values(const Comm& comm, const std::vector<T>& mine) {
  static_assert(std::is_trivially_copyable_v<T>, "values are sent as raw bytes");
  std::string bytes(mine.size() * sizeof(T), '\0');
  if (!mine.empty()) std::memcpy(bytes.data(), mine.data(), bytes.size());
  std::vector<T> all;
  for (const std::string& part : comm.allgatherv(bytes)) {
    const std::size_t at = all.size();
    all.resize(at + part.size() / sizeof(T));
    if (!part.empty()) std::memcpy(static_cast<void*>(all.data() + at), part.data(), part.size());
  }
  return all;
}

}  // namespace pm
