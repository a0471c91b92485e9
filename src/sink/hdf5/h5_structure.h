// What RunFile checks when it opens a file, before any reader looks inside: every object
// reachable from the root loads (libhdf5 verifies each object header's checksum), every
// group keeps its links in compact storage, in its object header, and every link is a
// hard link (a soft or external one could lead a reader's path elsewhere, even into
// another file that was never checked).
//
// Dense link storage (libhdf5's default past 8 links) keeps links in a fractal heap
// indexed by a version 2 B-tree; libhdf5 1.10 builds a table of them to iterate, and when
// one fails to decode it frees entries it never set (found by fuzzing, with structures
// spliced from another valid file, checksums and all). pixelmill's writers keep links
// compact (h5_file.h), so a file with dense links was not written by them and is refused
// before anything iterates it. Attributes may be dense (h5repack makes them so when it
// converts an older file); their reader avoids libhdf5's table (h5_attributes.cc).
#pragma once

#include <hdf5.h>

namespace pm::h5 {

// Throws pm::Error naming the object ("/images/key: ...") on the first one that does not
// load, a group whose links are not compact, or a link that is not hard. Each object is visited once, whatever links to it.
void check_structure(hid_t file);

}  // namespace pm::h5
