// Local files: `dir:PATH` walks PATH recursively (every regular file, symlinks followed,
// so that every input file appears once in the output, readable image or not); `list:FILE`
// reads one path per line. Keys are paths relative to PATH (dir:) or as listed (list:),
// sorted bytewise; splits are contiguous runs of that order.
#pragma once

#include <memory>
#include <string>

#include "pixelmill/source.h"

namespace pm::source {

enum class FileSpecKind { kDir, kList };

std::unique_ptr<Source> make_file_source(FileSpecKind kind, const std::string& path,
                                         std::int64_t split_records, int ranks);

}  // namespace pm::source
