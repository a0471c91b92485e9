// Opening files: collective access for the writers, read-only access for RunFile
// (run_file.h), through which every reader opens a file; and the file format both keep.
//
// The format: every structure libhdf5 parses is checksummed. A file is created with
// superblock version 2 and version 2 object headers (attributes live in them), and every
// dataset a writer adds afterwards uses the version 4 layout, whose chunk indexes (fixed
// and extensible arrays, version 2 B-trees) carry checksums too. libhdf5 verifies each
// checksum when it loads a structure, so a damaged file is refused before its parsers
// read the damage (libhdf5 1.10's parsers over-read on some damaged structures: see
// tests/fuzz/corpus/run_file/crash-*). Superblock version 3, which libhdf5 writes for the same layouts
// when a file is *created* at that level, is avoided on purpose: it marks the file "open
// for write" until a clean close, so a run killed with SIGKILL could be neither read nor
// resumed without h5clear.
#pragma once

#include <string>

#include "h5_handle.h"
#include "pixelmill/comm.h"

namespace pm::h5 {

// Links and attributes of a group stay in its object header (compact storage) up to this
// many; a run file has a few dozen. Readers refuse a group with more links.
inline constexpr unsigned kMaxCompact = 4096;

// A file-access property list for collective MPI-IO over `comm`, with metadata written
// collectively (one MPI-IO write of the metadata cache instead of many small writes
// from rank 0, which parallel file systems handle badly), creating the format above.
Handle collective_file_access(const Comm& comm);

// The same without MPI-IO, for a file that one process writes.
Handle serial_file_access();

// A file-creation property list whose root group keeps its links and attributes in its
// object header (compact storage), never in dense storage's fractal heaps, which
// h5_structure.h refuses to read.
Handle file_creation();

// Creates group `path` under `loc` with the same compact storage.
Handle create_group(hid_t loc, const char* path);

// Makes every object created in `file` from now on checksummed (the version 4 layout).
// Call it after each create or open for writing, on every rank that opened the file.
void keep_checksummed_format(hid_t file);

// Throws pm::Error unless `path` holds an HDF5 superblock of version 2 or more (the
// checksummed format above); says how to rewrite an older file.
void require_checksummed_format(const std::string& path);

// Opens `path` read-only with the default (POSIX) driver, so any rank, or a program
// without MPI, may read it at any time; after require_checksummed_format.
Handle open_read_only(const std::string& path);

}  // namespace pm::h5
