// The walk behind `dir:PATH`. Every entry under the root that is not a directory becomes a
// key (regular files, and also dangling links, FIFOs, devices: they are inputs that read as
// errors, so that nothing under the root goes unreported), and so does a directory that
// cannot be listed. Keys are paths relative to the root as walked: a symlink's own path,
// never its target's (no "..", whatever the link points at). Directory symlinks are
// followed, each directory entered once: a directory already walked (same device and inode)
// is not entered again, so `ln -s . loop` ends and a directory reached by two links is read
// once, under the first path in sorted order.
#pragma once

#include <string>
#include <vector>

namespace pm::source {

// Keys in no particular order. Throws pm::Error when the root is not a listable directory.
std::vector<std::string> walk_dir(const std::string& root);

}  // namespace pm::source
