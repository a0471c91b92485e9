// Reading /dedup back (pm::h5::write_dedup writes it), for `report`, the HBase
// write-back, eval-dedup and the older files of an incremental `dedup`. Every id read
// here is later used as an index, so every one is checked against the rows it may name.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "h5_handle.h"
#include "run_file.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

std::optional<std::int64_t> json_int(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  return it->get<std::int64_t>();
}

// The attribute `against`: [{"path", "rows", "offset"}], offsets the running sums.
void parse_against(const RunFile& f, const std::string& text, DedupInfo& d) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) f.fail(layout::kDedup, "attribute 'against' is not a JSON list");
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    const std::string entry = "attribute 'against' entry " + std::to_string(i);
    if (!e.is_object() || !e.contains("path") || !e["path"].is_string() ||
        e["path"].get_ref<const std::string&>().empty())
      f.fail(layout::kDedup, entry + " has no \"path\" string");
    const auto rows = json_int(e, "rows");
    const auto off = json_int(e, "offset");
    if (!rows || *rows < 0 || *rows > layout::kMaxRows - d.rows - offset)
      f.fail(layout::kDedup, entry + " has no valid \"rows\" (a count of rows)");
    if (!off || *off != offset)
      f.fail(layout::kDedup, entry + " has \"offset\" " + (off ? std::to_string(*off) : "missing") +
                                 "; expected " + std::to_string(offset) +
                                 ", the rows of the files before it");
    d.against.push_back({e["path"].get<std::string>(), *rows, *off});
    offset += *rows;
  }
  d.against_rows = offset;
}

DedupInfo check_dedup(const RunFile& f) {
  if (!f.has(layout::kGroup) || !f.has(layout::kExactGroup))
    f.fail(layout::kDedup, "is missing: the file has no dedup results (run `pixelmill dedup "
                           "--input " + f.path() + "` first)");
  DedupInfo d;
  const hsize_t n = check_images(f).rows;
  d.rows = static_cast<std::int64_t>(n);
  f.column(layout::kGroup, Element::kI64, 1, n);
  f.column(layout::kExactGroup, Element::kI64, 1, n);
  {
    const Column pairs = f.column(layout::kPairs, Element::kI64, 2, RunFile::kAny, 2);
    f.column(layout::kScore, Element::kF32, 1, pairs.rows);
    if (pairs.rows > static_cast<hsize_t>(layout::kMaxRows))
      f.fail(layout::kPairs, std::to_string(pairs.rows) + " pairs; a file holds at most " +
                                 std::to_string(layout::kMaxRows));
    d.pairs = static_cast<std::int64_t>(pairs.rows);
  }
  if (f.has(layout::kRegrouped)) {  // absent in files written before it existed
    const Column regrouped = f.column(layout::kRegrouped, Element::kI64, 2, RunFile::kAny, 2);
    if (regrouped.rows > static_cast<hsize_t>(layout::kMaxRows))
      f.fail(layout::kRegrouped, std::to_string(regrouped.rows) + " records; a file holds at most " +
                                     std::to_string(layout::kMaxRows));
    d.regrouped = static_cast<std::int64_t>(regrouped.rows);
  }
  const auto threshold = f.float_attribute(layout::kDedup, "threshold");
  if (!threshold) f.fail(layout::kDedup, "has no 'threshold' attribute");
  if (*threshold < -1.0 || *threshold > 1.0)
    f.fail(layout::kDedup, "attribute 'threshold' is " + std::to_string(*threshold) +
                               "; expected a cosine in [-1, 1]");
  d.threshold = *threshold;
  parse_against(f, f.string_attribute(layout::kDedup, "against").value_or("[]"), d);
  // Informational (it changes no result), so any one string is read as it is.
  d.join_precision = f.string_attribute(layout::kDedup, "join_precision").value_or("fp32");
  return d;
}

// "[0, L): N rows of this file, A of older files", the ids a file may name.
std::string id_bounds(const DedupInfo& d) {
  return "[0, " + std::to_string(d.rows + d.against_rows) + "): " + std::to_string(d.rows) +
         " rows of this file, " + std::to_string(d.against_rows) + " of older files";
}

}  // namespace

bool has_dedup(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  return f.has(layout::kGroup) && f.has(layout::kExactGroup);
}

DedupInfo read_dedup_info(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  return check_dedup(f);
}

DedupGroups read_dedup_groups(const std::string& path, std::int64_t begin, std::int64_t end) {
  QuietErrors quiet;
  const RunFile f(path);
  const DedupInfo d = check_dedup(f);
  check_row_range(f, "read_dedup_groups", begin, end, static_cast<hsize_t>(d.rows));
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  const auto n = static_cast<hsize_t>(d.rows);
  DedupGroups out;
  out.group = f.read<std::int64_t>(f.column(layout::kGroup, Element::kI64, 1, n),
                                   H5T_NATIVE_INT64, first, count);
  out.exact_group = f.read<std::int64_t>(f.column(layout::kExactGroup, Element::kI64, 1, n),
                                         H5T_NATIVE_INT64, first, count);
  const std::int64_t limit = d.rows + d.against_rows;
  for (const auto* ids : {&out.group, &out.exact_group}) {
    const char* name = ids == &out.group ? layout::kGroup : layout::kExactGroup;
    for (hsize_t i = 0; i < count; ++i) {
      const std::int64_t id = (*ids)[i];
      if (id < 0 || id >= limit)
        f.fail(name, "row " + std::to_string(first + i) + " names row " + std::to_string(id) +
                         "; row ids are in " + id_bounds(d));
    }
  }
  return out;
}

DedupPairs read_dedup_pairs(const std::string& path, std::int64_t begin, std::int64_t end) {
  QuietErrors quiet;
  const RunFile f(path);
  const DedupInfo d = check_dedup(f);
  check_row_range(f, "read_dedup_pairs", begin, end, static_cast<hsize_t>(d.pairs));
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  const auto m = static_cast<hsize_t>(d.pairs);
  DedupPairs out;
  out.pairs = f.read<std::int64_t>(f.column(layout::kPairs, Element::kI64, 2, m, 2),
                                   H5T_NATIVE_INT64, first, count);
  out.score = f.read<float>(f.column(layout::kScore, Element::kF32, 1, m), H5T_NATIVE_FLOAT,
                            first, count);
  const std::int64_t limit = d.rows + d.against_rows;
  for (hsize_t k = 0; k < count; ++k) {
    const std::int64_t a = out.pairs[2 * k], b = out.pairs[2 * k + 1];
    if (!(0 <= a && a < b && b < limit))
      f.fail(layout::kPairs, "pair " + std::to_string(first + k) + " is (" + std::to_string(a) +
                                 ", " + std::to_string(b) +
                                 "); expected i < j, both in " + id_bounds(d));
    if (!std::isfinite(out.score[k]))
      f.fail(layout::kScore, "pair " + std::to_string(first + k) + " has a score that is not a number");
  }
  return out;
}

std::vector<std::int64_t> read_dedup_regrouped(const std::string& path, std::int64_t begin,
                                               std::int64_t end) {
  QuietErrors quiet;
  const RunFile f(path);
  const DedupInfo d = check_dedup(f);
  check_row_range(f, "read_dedup_regrouped", begin, end, static_cast<hsize_t>(d.regrouped));
  if (end == begin) return {};
  const auto first = static_cast<hsize_t>(begin);
  const auto count = static_cast<hsize_t>(end - begin);
  std::vector<std::int64_t> out = f.read<std::int64_t>(
      f.column(layout::kRegrouped, Element::kI64, 2, static_cast<hsize_t>(d.regrouped), 2),
      H5T_NATIVE_INT64, first, count);
  const std::int64_t limit = d.rows + d.against_rows;
  for (hsize_t k = 0; k < count; ++k) {
    const std::int64_t row = out[2 * k], group = out[2 * k + 1];
    if (!(d.rows <= group && group < row && row < limit))
      f.fail(layout::kRegrouped, "record " + std::to_string(first + k) + " is (" +
                                     std::to_string(row) + ", " + std::to_string(group) +
                                     "); expected (row, group) of older rows, N <= group < row, "
                                     "both in " + id_bounds(d));
  }
  return out;
}

bool has_index(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  return f.has(layout::kCentroids);
}

IndexData read_index(const std::string& path) {
  QuietErrors quiet;
  const RunFile f(path);
  const ImagesShape shape = check_images(f);
  const Column c = f.column(layout::kCentroids, Element::kF32, 2, RunFile::kAny, RunFile::kAny);
  if (c.rows < 1 || c.rows > (hsize_t{1} << 20))
    f.fail(layout::kCentroids, "has " + std::to_string(c.rows) + " lists; expected 1..1048576");
  if (c.cols != shape.dim)
    f.fail(layout::kCentroids, "has " + std::to_string(c.cols) + " columns; the embeddings have " +
                                   std::to_string(shape.dim));
  IndexData out;
  out.lists = static_cast<int>(c.rows);
  out.dim = static_cast<int>(c.cols);
  out.centroids = f.read<float>(c, H5T_NATIVE_FLOAT, 0, c.rows);
  for (std::size_t i = 0; i < out.centroids.size(); ++i)
    if (!std::isfinite(out.centroids[i]))
      f.fail(layout::kCentroids, "value " + std::to_string(i) + " is not a finite number");
  const Column sizes = f.column(layout::kListSizes, Element::kI64, 1, c.rows);
  out.list_sizes = f.read<std::int64_t>(sizes, H5T_NATIVE_INT64, 0, c.rows);
  for (std::size_t i = 0; i < out.list_sizes.size(); ++i)
    if (out.list_sizes[i] < 0) f.fail(layout::kListSizes, "list " + std::to_string(i) + " has a negative size");
  return out;
}

std::vector<std::int32_t> read_index_home(const std::string& path, std::int64_t begin,
                                          std::int64_t end) {
  QuietErrors quiet;
  const RunFile f(path);
  const ImagesShape shape = check_images(f);
  const Column c = f.column(layout::kCentroids, Element::kF32, 2, RunFile::kAny, RunFile::kAny);
  const Column home = f.column(layout::kHome, Element::kI32, 1, shape.rows);
  check_row_range(f, "read_index_home", begin, end, shape.rows);
  std::vector<std::int32_t> out = f.read<std::int32_t>(home, H5T_NATIVE_INT32, static_cast<hsize_t>(begin),
                                                       static_cast<hsize_t>(end - begin));
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] != -1 && (out[i] < 0 || static_cast<hsize_t>(out[i]) >= c.rows))
      f.fail(layout::kHome, "row " + std::to_string(begin + static_cast<std::int64_t>(i)) + " names list " +
                                std::to_string(out[i]) + "; the index has " + std::to_string(c.rows));
  return out;
}

}  // namespace pm::h5
