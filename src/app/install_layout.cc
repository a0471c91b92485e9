// The installed layout is recognised by PREFIX/share/pixelmill/models beside PREFIX/bin:
// `cmake --install` always creates it (the default model's card goes there even when the
// model itself was not fetched), and a build tree never has it.
#include "install_layout.h"

#include <filesystem>
#include <system_error>

namespace pm::app {

std::string data_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share" / "pixelmill";
    if (fs::is_directory(installed / "models", ec)) return installed.string();
  }
  return PM_SOURCE_DIR;
}

std::string default_model() { return data_dir() + "/models/sscd_distilled.onnx"; }

}  // namespace pm::app
