// Private to pm_image and its tests: the SHA-256 compression function (FIPS 180-4 6.2.2)
// over whole 64-byte blocks, in a plain version (the reference twin, used everywhere the
// CPU lacks the SHA extensions) and one on the x86 SHA-NI instructions (about ten times
// faster: hashing then costs little next to decoding).
#pragma once

#include <cstddef>
#include <cstdint>

namespace pm::image {

extern const std::uint32_t kSha256K[64];

void sha256_compress_plain(std::uint32_t state[8], const std::uint8_t* data, std::size_t blocks);

// True when this CPU has SHA-NI (and the SSSE3/SSE4.1 it needs); checked once.
bool have_sha_ni();
// Only call when have_sha_ni().
void sha256_compress_shani(std::uint32_t state[8], const std::uint8_t* data, std::size_t blocks);

// The best available for this CPU.
void sha256_compress(std::uint32_t state[8], const std::uint8_t* data, std::size_t blocks);

}  // namespace pm::image
