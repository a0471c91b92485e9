// Where the files that come with the binary are. An installed binary (PREFIX/bin/pixelmill)
// finds them under PREFIX/share/pixelmill, relative to its own location, so a version
// installed into a shared prefix works from any node and any working directory (and after
// the prefix is moved); a binary in its build tree uses the source tree it was built from.
#pragma once

#include <string>

namespace pm::app {

// PREFIX/share/pixelmill for an installed binary, else the source tree.
std::string data_dir();

// The default embedding model: data_dir()/models/sscd_distilled.onnx.
std::string default_model();

}  // namespace pm::app
