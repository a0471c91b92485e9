#include "h5_file.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "pixelmill/error.h"

namespace pm::h5 {

namespace {

void set_format_bounds(hid_t fapl) {
  // Low bound 1.8: superblock 2 and version 2 object headers, both checksummed, and no
  // "open for write" flag in the superblock (see h5_file.h).
  check(H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V110), "H5Pset_libver_bounds");
}

void set_compact_storage(hid_t plist) {
  check(H5Pset_link_phase_change(plist, kMaxCompact, kMaxCompact), "H5Pset_link_phase_change");
  check(H5Pset_attr_phase_change(plist, kMaxCompact, kMaxCompact), "H5Pset_attr_phase_change");
}

}  // namespace

Handle file_creation() {
  Handle fcpl = own_plist(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate");
  set_compact_storage(fcpl.get());
  return fcpl;
}

Handle create_group(hid_t loc, const char* path) {
  Handle gcpl = own_plist(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate");
  set_compact_storage(gcpl.get());
  return own_group(H5Gcreate2(loc, path, H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), std::string("creating ") + path);
}

Handle collective_file_access(const Comm& comm) {
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  const Comm::IoHandles io = comm.io_handles();
  check(H5Pset_fapl_mpio(fapl.get(), io.comm, io.info), "H5Pset_fapl_mpio");
  check(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write");
  set_format_bounds(fapl.get());
  return fapl;
}

Handle serial_file_access() {
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  set_format_bounds(fapl.get());
  return fapl;
}

void keep_checksummed_format(hid_t file) {
  check(H5Fset_libver_bounds(file, H5F_LIBVER_V110, H5F_LIBVER_V110), "H5Fset_libver_bounds");
}

void require_checksummed_format(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("opening " + path + ": " + std::strerror(errno));
  // The superblock is at 0, or after a user block at 512, 1024, 2048, ...
  static constexpr std::array<unsigned char, 8> kSignature = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (std::uint64_t at = 0; at < (std::uint64_t{1} << 40); at = at == 0 ? 512 : at * 2) {
    std::array<unsigned char, 9> head{};
    in.clear();
    in.seekg(static_cast<std::streamoff>(at));
    if (!in.read(reinterpret_cast<char*>(head.data()), head.size())) break;
    if (!std::equal(kSignature.begin(), kSignature.end(), head.begin())) continue;
    const int version = head[8];
    if (version >= 2) return;
    throw Error(path + ": HDF5 superblock version " + std::to_string(version) +
                ", a format without checksums; pixelmill reads only checksummed files, so that a damaged "
                "file is refused instead of parsed (run files written before 2026-11-30 are in the old format). "
                "Rewrite it with: h5repack --low=2 --high=2 -c " + std::to_string(kMaxCompact) + " -d " +
                std::to_string(kMaxCompact) + " " + path + " NEW.h5");
  }
  throw Error(path + ": not an HDF5 file (no superblock signature)");
}

Handle open_read_only(const std::string& path) {
  require_checksummed_format(path);
  // File locks are taken where the file system has them and skipped where it has none
  // (some parallel file systems), instead of failing.
  Handle fapl = own_plist(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  check(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking");
  return own_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "opening " + path);
}

}  // namespace pm::h5
