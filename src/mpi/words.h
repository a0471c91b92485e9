// How values of any trivially copyable type travel: as machine words of the largest
// size (8, 4, 2 or 1 bytes) that divides the value's size. MPI counts are `int`, so a
// message of floats may hold INT_MAX floats instead of INT_MAX bytes. The bits arrive
// unchanged (same-architecture ranks, as everywhere in pixelmill), as with MPI_BYTE.
#pragma once

#include <mpi.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pixelmill/error.h"

namespace pm::mpi {

struct Words {
  MPI_Datatype type;
  std::size_t bytes;  // bytes per word
};

inline Words words_for(std::size_t element_bytes) {
  PM_ASSERT(element_bytes > 0, "a value of zero bytes cannot be sent");
  if (element_bytes % 8 == 0) return {MPI_UINT64_T, 8};
  if (element_bytes % 4 == 0) return {MPI_UINT32_T, 4};
  if (element_bytes % 2 == 0) return {MPI_UINT16_T, 2};
  return {MPI_BYTE, 1};
}

// The count of words for `count` values, as the `int` MPI takes; a larger message is a
// setup error (the caller sends in pieces, or the block is too large).
inline int word_count(std::size_t count, std::size_t element_bytes, const char* what) {
  const Words w = words_for(element_bytes);
  const std::size_t words_per_value = element_bytes / w.bytes;
  if (count > static_cast<std::size_t>(INT_MAX) / words_per_value)
    throw Error(std::string(what) + ": " + std::to_string(count) + " values of " +
                std::to_string(element_bytes) + " bytes are too many for one MPI message");
  return static_cast<int>(count * words_per_value);
}

}  // namespace pm::mpi
