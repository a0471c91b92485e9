// SHA-256 (FIPS 180-4) of raw bytes: exact-duplicate detection and model pinning. In
// pm_core so that every module (the engine's test-model writer too) shares one
// implementation: SHA-NI where the CPU has it, the plain compression as its reference twin.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pixelmill/image_result.h"  // pm::ContentHash

namespace pm {

// Incremental SHA-256 (FIPS 180-4), for data that arrives in pieces (files, streams).
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  ContentHash finish();  // the object must not be updated afterwards

 private:
  std::uint32_t h_[8];
  std::uint8_t buf_[64];
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

ContentHash sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
std::string to_hex(const ContentHash& h);  // 64 lower-case hex digits
// Throws pm::Error when the file cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace pm
