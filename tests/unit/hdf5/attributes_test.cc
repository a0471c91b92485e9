// pm::h5's checked readers of attributes (h5_attributes.h) and datasets (run_file.h), on
// files written here with the plain HDF5 API in the shapes a crafted file may hold: an
// attribute with 8 or 2000 elements, of another class, a null dataspace, a non-finite
// number; a dataset of another type or rank. Each must be a pm::Error naming the file,
// the object and what was expected; before these readers an 8-element `threshold`
// overwrote the stack and a 2000-element string array overran its buffer.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "h5_attributes.h"
#include "h5_handle.h"
#include "plain_file.h"
#include "run_file.h"
#include "pixelmill/error.h"

namespace pm::test {
namespace {

using h5::Handle;

class AttributesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("pm_attributes_" + std::to_string(getpid()) + ".h5")).string();
    file_ = h5::own_file(create_checksummed(path_), "create");
  }
  void TearDown() override {
    file_.reset();
    std::filesystem::remove(path_);
  }

  // An attribute of `type` on the root with `dims` (empty: a scalar).
  void put(const char* name, hid_t type, std::vector<hsize_t> dims, const void* data) {
    Handle space = dims.empty() ? h5::own_space(H5Screate(H5S_SCALAR), "space")
                                : h5::own_space(H5Screate_simple(static_cast<int>(dims.size()),
                                                                 dims.data(), nullptr), "space");
    Handle a = h5::own_attr(H5Acreate2(file_.get(), name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT), name);
    h5::check(H5Awrite(a.get(), type, data), name);
  }
  Handle vl_string() {
    Handle t = h5::own_type(H5Tcopy(H5T_C_S1), "type");
    H5Tset_size(t.get(), H5T_VARIABLE);
    return t;
  }
  Handle fixed_string(std::size_t size) {
    Handle t = h5::own_type(H5Tcopy(H5T_C_S1), "type");
    H5Tset_size(t.get(), size);
    H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
    return t;
  }
  // The message of the pm::Error that `f` throws ("" when it throws none).
  template <class F>
  std::string error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  std::string where() const { return "'" + path_ + "' /"; }

  std::string path_;
  Handle file_;
};

TEST_F(AttributesTest, ScalarsAndOneElementArraysAreRead) {
  const float quarter = 0.25f;
  const std::int64_t seven = 7;
  const std::uint8_t small = 200;
  const double one[1] = {0.5};
  put("f", H5T_IEEE_F32LE, {}, &quarter);
  put("i", H5T_STD_I64LE, {}, &seven);
  put("u8", H5T_NATIVE_UINT8, {}, &small);
  put("array1", H5T_NATIVE_DOUBLE, {1}, one);
  const char fixed[12] = "fixed";
  put("fixed", fixed_string(12).get(), {}, fixed);
  const char* text = "variable";
  put("vl", vl_string().get(), {}, &text);
  put("vl1", vl_string().get(), {1}, &text);
  const hid_t f = file_.get();
  EXPECT_EQ(h5::read_float_attribute(f, "f", where()), 0.25);
  EXPECT_EQ(h5::read_int_attribute(f, "i", where()), 7);
  EXPECT_EQ(h5::read_float_attribute(f, "i", where()), 7.0);  // an integer is a number too
  EXPECT_EQ(h5::read_int_attribute(f, "u8", where()), 200);
  EXPECT_EQ(h5::read_float_attribute(f, "array1", where()), 0.5);
  EXPECT_EQ(h5::read_string_attribute(f, "fixed", where()), "fixed");
  EXPECT_EQ(h5::read_string_attribute(f, "vl", where()), "variable");
  EXPECT_EQ(h5::read_string_attribute(f, "vl1", where()), "variable");
  EXPECT_FALSE(h5::read_string_attribute(f, "absent", where()).has_value());
  EXPECT_FALSE(h5::read_float_attribute(f, "absent", where()).has_value());
  const auto all = h5::read_attributes(f, where());
  EXPECT_EQ(all.at("f"), "0.25");
  EXPECT_EQ(all.at("i"), "7");
  EXPECT_EQ(all.at("fixed"), "fixed");
  EXPECT_EQ(all.at("vl1"), "variable");
  EXPECT_EQ(all.size(), 7u);
}

TEST_F(AttributesTest, AnEightElementThresholdIsAnError) {
  std::vector<double> eight(8, 4.9e-310);
  put("threshold", H5T_NATIVE_DOUBLE, {8}, eight.data());
  const std::string e = error_of([&] { h5::read_float_attribute(file_.get(), "threshold", where()); });
  EXPECT_NE(e.find(where() + " attribute 'threshold' holds 8 elements [8]"), std::string::npos) << e;
  EXPECT_NE(e.find("expected one value"), std::string::npos) << e;
  // Every reader checks it, whatever class it asks for.
  EXPECT_THROW(h5::read_int_attribute(file_.get(), "threshold", where()), Error);
  EXPECT_THROW(h5::read_string_attribute(file_.get(), "threshold", where()), Error);
  EXPECT_THROW(h5::read_attributes(file_.get(), where()), Error);
  std::vector<float> matrix(6, 1.f);
  put("matrix", H5T_NATIVE_FLOAT, {2, 3}, matrix.data());
  EXPECT_NE(error_of([&] { h5::read_float_attribute(file_.get(), "matrix", where()); })
                .find("holds 6 elements [2, 3]"),
            std::string::npos);
}

TEST_F(AttributesTest, StringArraysAreErrors) {
  std::vector<char> fixed(2000 * 24, 'x');  // under the 64 KiB object-header limit
  put("model_card", fixed_string(24).get(), {2000}, fixed.data());
  std::vector<const char*> texts(2000, "{\"dedup\": {}}");
  put("vl_card", vl_string().get(), {2000}, texts.data());
  for (const char* name : {"model_card", "vl_card"}) {
    const std::string e = error_of([&] { h5::read_string_attribute(file_.get(), name, where()); });
    EXPECT_NE(e.find(std::string("'") + name + "' holds 2000 elements"), std::string::npos) << e;
  }
}

TEST_F(AttributesTest, AnotherClassIsAnError) {
  const std::int64_t seven = 7;
  put("count", H5T_STD_I64LE, {}, &seven);
  const char* text = "0.5";
  put("text", vl_string().get(), {}, &text);
  // A variable-length sequence of bytes is not a string.
  Handle bytes_type = h5::own_type(H5Tvlen_create(H5T_NATIVE_UINT8), "vlen");
  std::uint8_t raw[3] = {'a', 'b', 'c'};
  const hvl_t seq{3, raw};
  put("bytes", bytes_type.get(), {}, &seq);
  Handle compound = h5::own_type(H5Tcreate(H5T_COMPOUND, 8), "compound");
  H5Tinsert(compound.get(), "x", 0, H5T_NATIVE_DOUBLE);
  const double x = 1;
  put("compound", compound.get(), {}, &x);
  const hid_t f = file_.get();
  EXPECT_NE(error_of([&] { h5::read_string_attribute(f, "count", where()); })
                .find("'count' is an integer; expected a string"), std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_float_attribute(f, "text", where()); })
                .find("'text' is a string; expected a number"), std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_int_attribute(f, "text", where()); })
                .find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_string_attribute(f, "bytes", where()); })
                .find("'bytes' is a variable-length sequence; expected a string"), std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_attributes(f, where()); }).find("'bytes'"), std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_float_attribute(f, "compound", where()); })
                .find("expected a number"), std::string::npos);
}

TEST_F(AttributesTest, NonFiniteNullAndOverflowingValuesAreErrors) {
  const double nan = std::nan("");
  put("nan", H5T_NATIVE_DOUBLE, {}, &nan);
  const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  put("huge", H5T_NATIVE_UINT64, {}, &huge);
  {
    Handle space = h5::own_space(H5Screate(H5S_NULL), "null");
    Handle a = h5::own_attr(H5Acreate2(file_.get(), "null", H5T_NATIVE_DOUBLE, space.get(),
                                       H5P_DEFAULT, H5P_DEFAULT), "null");
  }
  const hid_t f = file_.get();
  EXPECT_NE(error_of([&] { h5::read_float_attribute(f, "nan", where()); }).find("not a finite number"),
            std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_int_attribute(f, "huge", where()); }).find("signed 64-bit"),
            std::string::npos);
  EXPECT_NE(error_of([&] { h5::read_float_attribute(f, "null", where()); }).find("null dataspace"),
            std::string::npos);
}

// What write_attribute stored for `name`: variable-length or not, its size and padding.
struct Stored {
  bool variable = false;
  std::size_t size = 0;
  H5T_str_t pad = H5T_STR_ERROR;
  H5T_cset_t cset = H5T_CSET_ERROR;
};
Stored stored(hid_t obj, const char* name) {
  Handle a = h5::own_attr(H5Aopen(obj, name, H5P_DEFAULT), name);
  Handle t = h5::own_type(H5Aget_type(a.get()), name);
  Stored s;
  s.variable = H5Tis_variable_str(t.get()) > 0;
  s.size = H5Tget_size(t.get());
  s.pad = H5Tget_strpad(t.get());
  s.cset = H5Tget_cset(t.get());
  return s;
}

TEST_F(AttributesTest, StringsAreWrittenFixedLengthAndReadBackExactly) {
  // No attribute data in the global heap (libhdf5 1.10 may loop on a damaged one).
  const std::string multibyte = "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xb7";  // café 日本 📷
  const std::string json = "{\"name\": \"sscd\", \"note\": \"\xc3\xbc\"}";
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"empty", ""}, {"ascii", "pixelmill 1.0"}, {"utf8", multibyte}, {"json", json},
      {"one", "x"}, {"at_limit", std::string(60 << 10, 'a')},
      // Several at the limit on one object: the object header continues in more chunks.
      {"at_limit_2", std::string(60 << 10, 'b')}, {"at_limit_3", std::string(60 << 10, 'c')}};
  const hid_t f = file_.get();
  for (const auto& [name, value] : cases) h5::write_attribute(f, name, value);
  for (const auto& [name, value] : cases) {
    const Stored s = stored(f, name);
    EXPECT_FALSE(s.variable) << name;
    EXPECT_EQ(s.size, std::max<std::size_t>(value.size(), 1)) << name;
    EXPECT_EQ(s.pad, H5T_STR_NULLPAD) << name;
    EXPECT_EQ(s.cset, H5T_CSET_UTF8) << name;
    EXPECT_EQ(h5::read_string_attribute(f, name, where()), value) << name;
  }
  // Replacing one with a shorter or longer value, and after closing and reopening.
  h5::write_attribute(f, "ascii", std::string("v2"));
  h5::write_attribute(f, "empty", std::string("now set"));
  file_.reset();
  file_ = h5::own_file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "reopen");
  EXPECT_EQ(h5::read_string_attribute(file_.get(), "ascii", where()), "v2");
  EXPECT_EQ(h5::read_string_attribute(file_.get(), "empty", where()), "now set");
  const auto all = h5::read_attributes(file_.get(), where());
  EXPECT_EQ(all.at("utf8"), multibyte);
  EXPECT_EQ(all.at("one"), "x");
  EXPECT_EQ(all.at("at_limit").size(), std::size_t{60} << 10);
}

TEST_F(AttributesTest, AStringEndsAtItsFirstNul) {
  // As when every string was written from c_str(): NUL padding and a NUL of the value
  // cannot be told apart.
  h5::write_attribute(file_.get(), "nul", std::string("ab\0cd", 5));
  EXPECT_EQ(stored(file_.get(), "nul").size, 2u);
  EXPECT_EQ(h5::read_string_attribute(file_.get(), "nul", where()), "ab");
}

TEST_F(AttributesTest, AStringOverTheObjectHeaderLimitIsWrittenVariableLength) {
  // A fixed-length attribute of 64 KiB or more does not fit an object header message (no
  // dense attribute storage in files of the default version bounds): such a string is
  // written variable-length, as before, and reads back the same.
  std::string big(100000, 'j');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  h5::write_attribute(file_.get(), "model_card", big);
  const std::string just_over(std::size_t{60 << 10} + 1, 'o');
  h5::write_attribute(file_.get(), "command_line", just_over);
  EXPECT_TRUE(stored(file_.get(), "model_card").variable);
  EXPECT_TRUE(stored(file_.get(), "command_line").variable);
  file_.reset();
  file_ = h5::own_file(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "reopen");
  EXPECT_EQ(h5::read_string_attribute(file_.get(), "model_card", where()), big);
  EXPECT_EQ(h5::read_string_attribute(file_.get(), "command_line", where()), just_over);
}

TEST_F(AttributesTest, OlderVariableLengthStringsStillRead) {
  // Files written before strings were fixed-length: variable-length UTF-8, read under the
  // watchdog (which stays silent when libhdf5 returns).
  Handle utf8 = vl_string();
  H5Tset_cset(utf8.get(), H5T_CSET_UTF8);
  const char* card = "{\"name\": \"caf\xc3\xa9\"}";
  put("model_card", utf8.get(), {}, &card);
  const char* empty = "";
  put("empty", utf8.get(), {}, &empty);
  const char* ascii = "mpirun -n 4 pixelmill extract";
  put("command_line", vl_string().get(), {}, &ascii);  // ASCII character set
  const hid_t f = file_.get();
  EXPECT_EQ(h5::read_string_attribute(f, "model_card", where()), card);
  EXPECT_EQ(h5::read_string_attribute(f, "empty", where()), "");
  EXPECT_EQ(h5::read_string_attribute(f, "command_line", where()), ascii);
  const auto all = h5::read_attributes(f, where());
  EXPECT_EQ(all.at("model_card"), card);
  // Replaced by the current writer: fixed-length from then on.
  h5::write_attribute(f, "model_card", std::string(card));
  EXPECT_FALSE(stored(f, "model_card").variable);
  EXPECT_EQ(h5::read_string_attribute(f, "model_card", where()), card);
}

TEST(Hdf5ReadTimeout, DefaultOverrideAndBadValues) {
  const char* saved = std::getenv("PM_HDF5_READ_TIMEOUT_S");
  const std::string keep = saved ? saved : "";
  unsetenv("PM_HDF5_READ_TIMEOUT_S");
  EXPECT_EQ(h5::hdf5_read_timeout(), std::chrono::seconds(60));
  setenv("PM_HDF5_READ_TIMEOUT_S", "2", 1);
  EXPECT_EQ(h5::hdf5_read_timeout(), std::chrono::seconds(2));
  for (const char* bad : {"0", "-1", "abc", "2s", "1.5", "86401", "99999999999999999999"}) {
    setenv("PM_HDF5_READ_TIMEOUT_S", bad, 1);
    try {
      h5::hdf5_read_timeout();
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("PM_HDF5_READ_TIMEOUT_S"), std::string::npos) << e.what();
    }
  }
  if (saved) setenv("PM_HDF5_READ_TIMEOUT_S", keep.c_str(), 1); else unsetenv("PM_HDF5_READ_TIMEOUT_S");
}

TEST_F(AttributesTest, DatasetsAreCheckedBeforeTheyAreRead) {
  // /dedup/pairs as the layout says ([M, 2] int64), then as a crafted file may have it.
  h5::QuietErrors quiet;  // the failures below are expected
  h5::own_group(H5Gcreate2(file_.get(), "/dedup", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "g");
  const std::int64_t pairs[6] = {0, 1, 2, 3, 4, 5};
  auto dataset = [&](const char* name, hid_t type, std::vector<hsize_t> dims) {
    Handle space = h5::own_space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "s");
    Handle d = h5::own_dataset(H5Dcreate2(file_.get(), name, type, space.get(), H5P_DEFAULT,
                                          H5P_DEFAULT, H5P_DEFAULT), name);
    h5::check(H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, pairs), name);
  };
  dataset("/dedup/pairs", H5T_STD_I64BE, {3, 2});  // another byte order is fine
  dataset("/dedup/flat", H5T_STD_I64LE, {6});
  dataset("/dedup/narrow", H5T_STD_I32LE, {3, 2});
  dataset("/dedup/unsigned", H5T_STD_U64LE, {3, 2});
  file_.reset();  // flushed and closed: RunFile opens it read-only

  const h5::RunFile run(path_);
  EXPECT_TRUE(run.has("/dedup/pairs"));
  EXPECT_FALSE(run.has("/nothing/here"));
  const h5::Column c = run.column("/dedup/pairs", h5::Element::kI64, 2, h5::RunFile::kAny, 2);
  EXPECT_EQ(c.rows, 3u);
  EXPECT_EQ(run.read<std::int64_t>(c, H5T_NATIVE_INT64, 1, 2), (std::vector<std::int64_t>{2, 3, 4, 5}));
  EXPECT_THROW(run.read<std::int64_t>(c, H5T_NATIVE_INT64, 2, 2), Error);  // past the rows
  const auto message = [&](const char* name) {
    return error_of([&] { run.column(name, h5::Element::kI64, 2, h5::RunFile::kAny, 2); });
  };
  EXPECT_EQ(message("/dedup/flat"), "'" + path_ + "' /dedup/flat: expected int64 [*, 2], found int64 [6]");
  EXPECT_EQ(message("/dedup/narrow"), "'" + path_ + "' /dedup/narrow: expected int64 [*, 2], found int32 [3, 2]");
  EXPECT_EQ(message("/dedup/unsigned"), "'" + path_ + "' /dedup/unsigned: expected int64 [*, 2], found uint64 [3, 2]");
  EXPECT_NE(message("/dedup/missing").find("'" + path_ + "' /dedup/missing: opening"), std::string::npos);
  EXPECT_THROW(run.column("/dedup/pairs", h5::Element::kI64, 2, 4, 2), Error);  // 4 rows wanted
}

}  // namespace
}  // namespace pm::test
