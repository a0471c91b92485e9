// Every fuzz target defines LLVMFuzzerTestOneInput (libFuzzer's entry point). Built with
// clang and -DPM_FUZZ=ON it links libFuzzer (scripts/fuzz.sh); in every other build it links
// standalone_main.cc, which runs each file named on its command line once, so that the
// seed corpus and every input a fuzzer ever found (tests/fuzz/corpus/TARGET/) run in CTest
// as regression tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace pm::fuzz {

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A file holding `data`, for APIs that take a path; removed by the destructor. In /dev/shm
// when it exists (no disk traffic at tens of thousands of runs a second).
class TempFile {
 public:
  TempFile(const std::uint8_t* data, std::size_t size, const char* suffix);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace pm::fuzz
