// The readers of run files (the HDF5 output that report, dedup, resume and write-back
// read): every attribute, dataset and id they read from bytes that claim to be a run.
#include <algorithm>

#include "fuzz_target.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pm::fuzz::TempFile f(data, size, ".h5");
  const std::string& path = f.path();
  try {
    (void)pm::h5::read_root_attributes(path);
  } catch (const pm::Error&) {
  }
  try {
    (void)pm::h5::read_progress(path);
  } catch (const pm::Error&) {
  }
  try {
    const std::int64_t n = pm::h5::row_count(path);
    // A few rows only: a file may claim 2^40 rows that it does not hold.
    (void)pm::h5::read_results(path, 0, std::min<std::int64_t>(n, 8));
    (void)pm::h5::read_images(path, 0, std::min<std::int64_t>(n, 8), true);
  } catch (const pm::Error&) {
  }
  try {
    if (pm::h5::has_dedup(path)) {
      const pm::h5::DedupInfo info = pm::h5::read_dedup_info(path);
      (void)pm::h5::read_dedup_groups(path, 0, std::min<std::int64_t>(info.rows, 8));
      (void)pm::h5::read_dedup_pairs(path, 0, std::min<std::int64_t>(info.pairs, 8));
      (void)pm::h5::read_dedup_regrouped(path, 0, std::min<std::int64_t>(info.regrouped, 8));
    }
  } catch (const pm::Error&) {
  }
  return 0;
}
