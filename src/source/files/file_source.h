// Local files: `dir:PATH` walks PATH recursively (dir_walk.h: every entry that is not a
// directory, links followed once, so that every input appears once in the output, readable
// image or not); `list:FILE` reads one path per line. Keys are paths relative to PATH (dir:)
// or as listed (list:), sorted bytewise; splits are contiguous runs of that order. Reads are
// bounded (bounded_read.h): a file over max_bytes is a too_large record, never read.
#pragma once

#include <memory>
#include <string>

#include "pixelmill/source.h"

namespace pm::source {

enum class FileSpecKind { kDir, kList };

std::unique_ptr<Source> make_file_source(FileSpecKind kind, const std::string& path,
                                         std::int64_t split_records, int ranks,
                                         std::int64_t max_bytes = 0);

}  // namespace pm::source
