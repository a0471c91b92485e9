// The checksummed file format (src/sink/hdf5/h5_file.h): what the writers' access lists
// create, what the readers refuse, and damage refused by libhdf5's checksums.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "plain_file.h"

namespace pm::test {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("pm_format_" + std::to_string(getpid()) + "_" + name))
      .string();
}

std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A file with a root attribute and a chunked, extendable dataset, created with `fapl`.
void write_small(const std::string& path, hid_t fapl, bool keep_checksummed) {
  h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "create");
  if (keep_checksummed) h5::keep_checksummed_format(file.get());
  const hsize_t dims[1] = {16}, max[1] = {H5S_UNLIMITED}, chunk[1] = {4};
  h5::Handle space = h5::own_space(H5Screate_simple(1, dims, max), "space");
  h5::Handle dcpl = h5::own_plist(H5Pcreate(H5P_DATASET_CREATE), "dcpl");
  h5::check(H5Pset_chunk(dcpl.get(), 1, chunk), "chunk");
  h5::Handle d = h5::own_dataset(
      H5Dcreate2(file.get(), "values", H5T_STD_I64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT), "d");
  std::vector<std::int64_t> v(16, 7);
  h5::check(H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "write");
  h5::write_attribute(file.get(), "command_line", std::string("pixelmill extract --input dir:photos"));
}

TEST(FileFormat, WritersCreateSuperblockTwoThatReadersAccept) {
  const std::string path = temp_path("new.h5");
  h5::Handle fapl = h5::serial_file_access();
  write_small(path, fapl.get(), true);
  const std::vector<char> b = bytes_of(path);
  ASSERT_GT(b.size(), 9u);
  EXPECT_EQ(b[8], 2) << "superblock version";
  EXPECT_NO_THROW(h5::require_checksummed_format(path));
  EXPECT_EQ(h5::read_root_attributes(path).at("command_line"), "pixelmill extract --input dir:photos");
  std::filesystem::remove(path);
}

TEST(FileFormat, OlderFormatIsRefusedWithTheCommandThatRewritesIt) {
  const std::string path = temp_path("old.h5");
  write_small(path, H5P_DEFAULT, false);  // libhdf5's default: superblock 0, no checksums
  const std::string message = error_of([&] { h5::read_root_attributes(path); });
  EXPECT_NE(message.find("superblock version 0"), std::string::npos) << message;
  EXPECT_NE(message.find("h5repack --low=2 --high=2 -c 4096 -d 4096 " + path + " NEW.h5"), std::string::npos) << message;
  std::filesystem::remove(path);
}

TEST(FileFormat, SuperblockAfterAUserBlockIsFound) {
  const std::string path = temp_path("userblock.h5");
  h5::Handle fcpl = h5::own_plist(H5Pcreate(H5P_FILE_CREATE), "fcpl");
  h5::check(H5Pset_userblock(fcpl.get(), 1024), "userblock");
  h5::Handle fapl = h5::serial_file_access();
  h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), "create");
  file.reset();
  EXPECT_EQ(bytes_of(path)[1024 + 8], 2);
  EXPECT_NO_THROW(h5::require_checksummed_format(path));
  std::filesystem::remove(path);
}

TEST(FileFormat, NotHdf5OrMissingIsAClearError) {
  const std::string path = temp_path("text.h5");
  write_bytes(path, std::vector<char>(4096, 'x'));
  EXPECT_NE(error_of([&] { h5::require_checksummed_format(path); }).find("not an HDF5 file"), std::string::npos);
  write_bytes(path, {});
  EXPECT_NE(error_of([&] { h5::require_checksummed_format(path); }).find("not an HDF5 file"), std::string::npos);
  std::filesystem::remove(path);
  EXPECT_NE(error_of([&] { h5::require_checksummed_format(path); }).find("No such file"), std::string::npos);
}

// A byte of the root object header changed: in the older format libhdf5 reads the damage
// (here, an attribute under another name); in this one its checksum refuses the header.
TEST(FileFormat, DamagedObjectHeaderIsRefusedNotParsed) {
  const std::string path = temp_path("damaged.h5");
  h5::Handle fapl = h5::serial_file_access();
  write_small(path, fapl.get(), true);
  std::vector<char> b = bytes_of(path);
  const std::string name = "command_line";
  const auto at = std::search(b.begin(), b.end(), name.begin(), name.end());
  ASSERT_NE(at, b.end());
  *at = 'k';  // "kommand_line"
  write_bytes(path, b);
  const std::string message = error_of([&] { h5::read_root_attributes(path); });
  EXPECT_NE(message.find("'" + path + "' is damaged"), std::string::npos) << message;
  EXPECT_NE(message.find("checksum"), std::string::npos) << "read without an error: " << message;
  std::filesystem::remove(path);
}

// A writer with HDF5's defaults keeps a group of more than 8 links in dense storage, which
// libhdf5 1.10 iterates unsafely on damage: refused before anything iterates it.
TEST(FileFormat, DenseLinksAreRefused) {
  const std::string path = temp_path("dense.h5");
  h5::Handle fapl = h5::serial_file_access();
  {
    h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "create");
    h5::Handle group = h5::own_group(H5Gcreate2(file.get(), "/images", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "g");
    for (int i = 0; i < 12; ++i)
      h5::own_group(H5Gcreate2(group.get(), ("g" + std::to_string(i)).c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "g");
  }
  const std::string message = error_of([&] { h5::read_root_attributes(path); });
  EXPECT_NE(message.find("/images: its links are in dense storage"), std::string::npos) << message;
  // The writers' groups keep 12 links compact.
  {
    h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, h5::file_creation().get(), fapl.get()), "c");
    h5::Handle group = h5::create_group(file.get(), "/images");
    for (int i = 0; i < 12; ++i) h5::create_group(group.get(), ("g" + std::to_string(i)).c_str());
    for (int i = 0; i < 12; ++i) h5::write_attribute(file.get(), ("a" + std::to_string(i)).c_str(), std::int64_t{i});
  }
  EXPECT_EQ(h5::read_root_attributes(path).size(), 12u);
  std::filesystem::remove(path);
}

TEST(FileFormat, SoftAndExternalLinksAreRefused) {
  const std::string path = temp_path("links.h5");
  h5::Handle fapl = h5::serial_file_access();
  for (const bool external : {false, true}) {
    {
      h5::Handle file = h5::own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, h5::file_creation().get(), fapl.get()), "c");
      h5::create_group(file.get(), "/progress");
      if (external)
        h5::check(H5Lcreate_external("/etc/other.h5", "/images", file.get(), "/images", H5P_DEFAULT, H5P_DEFAULT), "l");
      else
        h5::check(H5Lcreate_soft("/progress", file.get(), "/images", H5P_DEFAULT, H5P_DEFAULT), "l");
    }
    const std::string message = error_of([&] { h5::read_root_attributes(path); });
    EXPECT_NE(message.find("/: its link 'images' is not a hard link"), std::string::npos) << message;
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace pm::test
