// SHA-256 compression on the x86 SHA extensions. The state lives in two registers in the
// order the instructions want (ABEF and CDGH); each sha256rnds2 does two rounds, the
// message schedule runs four words at a time with sha256msg1/msg2.
#include <cstring>

#include "sha256_compress.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define PM_HAVE_X86 1
#endif

namespace pm::image {

#if PM_HAVE_X86

bool have_sha_ni() {
  static const bool have = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    const bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return ssse3 && sse41 && (b & (1u << 29));
  }();
  return have;
}

__attribute__((target("sha,ssse3,sse4.1"))) void sha256_compress_shani(std::uint32_t state[8],
                                                                      const std::uint8_t* data,
                                                                      std::size_t blocks) {
  // a b c d | e f g h  ->  ABEF | CDGH (lane 3 first)
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0xB1);
  __m128i st1 = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);
  __m128i st0 = _mm_alignr_epi8(tmp, st1, 8);
  st1 = _mm_blend_epi16(st1, tmp, 0xF0);
  const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);

  for (; blocks > 0; --blocks, data += 64) {
    const __m128i save0 = st0, save1 = st1;
    __m128i m[4];
    for (int g = 0; g < 16; ++g) {
      __m128i& w = m[g & 3];
      if (g < 4) {
        w = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)), bswap);
      } else {
        // W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time.
        const __m128i w7 = _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4);
        w = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(w, m[(g + 1) & 3]), w7),
                                 m[(g + 3) & 3]);
      }
      __m128i k = _mm_add_epi32(w, _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSha256K + 4 * g)));
      st1 = _mm_sha256rnds2_epu32(st1, st0, k);
      k = _mm_shuffle_epi32(k, 0x0E);
      st0 = _mm_sha256rnds2_epu32(st0, st1, k);
    }
    st0 = _mm_add_epi32(st0, save0);
    st1 = _mm_add_epi32(st1, save1);
  }

  tmp = _mm_shuffle_epi32(st0, 0x1B);
  st1 = _mm_shuffle_epi32(st1, 0xB1);
  st0 = _mm_blend_epi16(tmp, st1, 0xF0);
  st1 = _mm_alignr_epi8(st1, tmp, 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), st0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), st1);
}

#else

bool have_sha_ni() { return false; }
void sha256_compress_shani(std::uint32_t state[8], const std::uint8_t* data, std::size_t blocks) {
  sha256_compress_plain(state, data, blocks);
}

#endif

void sha256_compress(std::uint32_t state[8], const std::uint8_t* data, std::size_t blocks) {
  if (have_sha_ni())
    sha256_compress_shani(state, data, blocks);
  else
    sha256_compress_plain(state, data, blocks);
}

}  // namespace pm::image
