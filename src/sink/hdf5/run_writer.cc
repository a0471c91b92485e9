// pm::h5::RunWriter: the run file written in rounds (pixelmill/run_writer.h).
//
// Every rank keeps the same table of where each split's rows are (from the allgather of
// each round), so every collective decision (extents, offsets, whether to reorder) is
// the same everywhere. Local checks and buffer packing are agreed before each
// collective call (pixelmill/agreed.h).
#include "pixelmill/run_writer.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>
#include <system_error>

#include <nlohmann/json.hpp>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "image_columns.h"
#include "run_writer_impl.h"
#include "row_arena.h"
#include "pixelmill/agreed.h"
#include "pixelmill/comm_values.h"
#include "pixelmill/error.h"
#include "pixelmill/output_layout.h"
#include "pixelmill/status.h"

namespace pm::h5 {

namespace {

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// About 1 MiB per chunk of a row dataset that grows round by round (its final size is
// unknown); keys in chunks 64 bytes wide, so that a wider key adds chunks, never
// rewrites them.
constexpr hsize_t kChunkBytes = hsize_t{1} << 20;
constexpr hsize_t kKeyChunkCols = 64;

Handle create_growing(hid_t file, const char* path, hid_t file_type, std::size_t elem_size, hsize_t cols,
                      bool is_key) {
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {0, cols};
  const hsize_t max_dims[2] = {H5S_UNLIMITED, is_key ? H5S_UNLIMITED : cols};
  Handle space = own_space(H5Screate_simple(rank, dims, max_dims), std::string("dataspace for ") + path);
  const hsize_t chunk_cols = is_key ? kKeyChunkCols : std::max<hsize_t>(1, cols);
  const hsize_t chunk[2] = {std::max<hsize_t>(1, kChunkBytes / (elem_size * chunk_cols)), chunk_cols};
  Handle dcpl = own_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  check(H5Pset_chunk(dcpl.get(), rank, chunk), std::string("chunking ") + path);
  if (is_key) {
    // Keys are zero padded: columns a wider key adds later read as zeros in older rows.
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC), "H5Pset_fill_time");
  } else {
    // Every element of a published row is written: no fill pass over the chunks.
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  }
  return own_dataset(H5Dcreate2(file, path, file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                     std::string("creating ") + path);
}

Handle open_dataset(hid_t file, const char* path) {
  return own_dataset(H5Dopen2(file, path, H5P_DEFAULT), std::string("opening ") + path);
}

void set_rows(hid_t dataset, hsize_t rows, hsize_t cols, const char* path) {
  const hsize_t dims[2] = {rows, cols};
  check(H5Dset_extent(dataset, dims), std::string("resizing ") + path);
}

// Rank 0 writes `values` at `indices` of a 1-D dataset; the others take part selecting
// nothing. Used to publish a round's entries of /progress.
template <typename T>
void write_entries(const Comm& comm, hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& indices,
                   const std::vector<T>& values, hid_t transfer) {
  Handle file_space = own_space(H5Dget_space(dataset), "H5Dget_space");
  const hsize_t n = comm.rank() == 0 ? indices.size() : 0;
  if (n > 0)
    check(H5Sselect_elements(file_space.get(), H5S_SELECT_SET, n, indices.data()), "H5Sselect_elements");
  else
    check(H5Sselect_none(file_space.get()), "H5Sselect_none");
  const hsize_t mem_dims[1] = {std::max<hsize_t>(1, n)};
  Handle mem_space = own_space(H5Screate_simple(1, mem_dims, nullptr), "H5Screate_simple");
  if (n == 0) check(H5Sselect_none(mem_space.get()), "H5Sselect_none");
  static const T dummy{};
  check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), transfer,
                 n == 0 ? &dummy : values.data()),
        "H5Dwrite /progress");
}

// One dataset of a round: grown to `rows`, this rank's `blocks` packed by `pack` (under
// agreement: a packing failure on one rank fails every rank) and written collectively.
void write_round_column(const Comm& comm, hid_t file, hid_t transfer, const char* path, hsize_t rows, hsize_t cols,
                        std::size_t elem_size, hid_t mem_type, const std::vector<RowBlock>& blocks,
                        const std::function<void(RowArena&)>& pack) {
  Handle d = open_dataset(file, path);
  set_rows(d.get(), rows, cols, path);
  std::optional<RowArena> arena;
  agreed(comm, std::string("packing ") + path, [&] {
    arena.emplace(blocks, elem_size * std::max<hsize_t>(1, cols));
    pack(*arena);
  });
  arena->write(d.get(), mem_type, cols, transfer);
}

void flush(hid_t file, const std::string& path) {
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), "flushing " + path);
}

}  // namespace

RunWriter::RunWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RunWriter::RunWriter(RunWriter&&) noexcept = default;
RunWriter& RunWriter::operator=(RunWriter&&) noexcept = default;
RunWriter::~RunWriter() = default;

const std::vector<std::uint8_t>& RunWriter::split_done() const { return impl_->done; }
std::int64_t RunWriter::staged_rows() const { return impl_->staged; }
std::int64_t RunWriter::rounds() const { return impl_->rounds; }

RunWriter RunWriter::create(const Comm& comm, const std::string& path, int embedding_dim,
                            std::uint64_t total_splits, const RunAttributes& attrs) {
  QuietErrors quiet;
  // Arguments that shape the file must agree, or ranks would create different datasets.
  const auto dim_arg = static_cast<std::int64_t>(embedding_dim);
  const auto splits_arg = static_cast<std::int64_t>(total_splits);
  const bool same_dim = comm.allreduce_min(dim_arg) == comm.allreduce_max(dim_arg);
  const bool same_splits = comm.allreduce_min(splits_arg) == comm.allreduce_max(splits_arg);
  PM_CHECK(same_dim, "write_images: ranks passed different embedding dimensions");
  PM_CHECK(same_splits, "write_images: ranks passed different split counts");
  const auto det_arg = static_cast<std::int64_t>(attrs.detection_dim);
  PM_CHECK(comm.allreduce_min(det_arg) == comm.allreduce_max(det_arg),
           "write_images: ranks passed different detection dimensions");
  PM_CHECK(attrs.detection_dim < 0 || static_cast<std::size_t>(attrs.detection_dim) <= layout::kMaxEmbeddingDim,
           "detection_dim out of range: " + std::to_string(attrs.detection_dim));
  // The same value on every rank now: the same verdict.
  PM_CHECK(embedding_dim > 0 && static_cast<std::size_t>(embedding_dim) <= layout::kMaxEmbeddingDim,
           "embedding_dim must be in 1.." + std::to_string(layout::kMaxEmbeddingDim) + ", got " +
               std::to_string(embedding_dim));
  auto w = std::make_unique<Impl>();
  w->path = path;
  w->attrs = attrs;
  w->dim = static_cast<hsize_t>(embedding_dim);
  w->created = comm.broadcast(comm.rank() == 0 ? utc_now() : std::string());
  w->done.assign(total_splits, 0);
  w->rows.assign(total_splits, 0);
  w->first.assign(total_splits, -1);
  w->det_dim = attrs.detection_dim < 0 ? -1 : attrs.detection_dim;
  if (w->detections()) {
    w->det_rows.assign(total_splits, 0);
    w->det_first.assign(total_splits, -1);
  }
  Handle fapl = collective_file_access(comm);
  agreed(comm, "creating " + path, [&] {
    w->file = own_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, file_creation().get(), fapl.get()), "creating " + path);
  });
  keep_checksummed_format(w->file.get());
  w->transfer = collective_transfer();
  const hid_t f = w->file.get();
  Handle images = create_group(f, layout::kImages);
  ImageColumns columns = image_columns(w->dim, w->key_width);
  for (const ImageColumn& c : columns.columns) create_growing(f, c.path, c.file_type, c.elem_size, c.cols, c.is_key);
  if (w->detections()) {
    Handle group = create_group(f, layout::kDetections);
    for (const auto& [name, value] : attrs.detection_attributes) write_attribute(group.get(), name.c_str(), value);
    for (const DetectionColumn& c : detection_columns(static_cast<hsize_t>(w->det_dim)))
      create_growing(f, c.path, c.file_type, c.elem_size, c.cols, false);
  }
  Handle progress = create_group(f, layout::kProgress);
  // /progress is written entry by entry as rounds publish splits; its datasets are
  // allocated and filled (not done, 0 rows, first row -1) when created.
  const auto make_table = [&](const char* name, hid_t type, const void* fill) {
    const hsize_t n = total_splits;
    Handle space = own_space(H5Screate_simple(1, &n, nullptr), "dataspace for /progress");
    Handle dcpl = own_plist(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
    check(H5Pset_fill_value(dcpl.get(), type, fill), "H5Pset_fill_value");
    check(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
    check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC), "H5Pset_fill_time");
    own_dataset(H5Dcreate2(f, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                std::string("creating ") + name);
  };
  const std::uint8_t not_done = 0;
  const std::int64_t zero = 0, none = -1;
  make_table(layout::kSplitDone, H5T_NATIVE_UINT8, &not_done);
  make_table(layout::kSplitRows, H5T_NATIVE_INT64, &zero);
  make_table(layout::kSplitFirstRow, H5T_NATIVE_INT64, &none);
  if (w->detections()) {
    make_table(layout::kSplitDetections, H5T_NATIVE_INT64, &zero);
    make_table(layout::kSplitFirstDetection, H5T_NATIVE_INT64, &none);
  }
  w->write_root_attributes(false);
  flush(f, path);
  return RunWriter(std::move(w));
}

RunWriter RunWriter::resume(const Comm& comm, const std::string& path, const RunAttributes& attrs) {
  QuietErrors quiet;
  Progress p;
  std::string created;
  std::int64_t dim = 0;
  std::string counts_json;
  agreed(comm, "reading the progress of " + path, [&] {
    p = read_progress(path);
    const auto root = read_root_attributes(path);
    if (const auto it = root.find("created_utc"); it != root.end()) created = it->second;
    if (const auto it = root.find("counts"); it != root.end()) counts_json = it->second;
    const auto d = root.find("embedding_dim");
    PM_CHECK(d != root.end(), "'" + path + "' has no embedding_dim attribute");
    dim = std::stoll(d->second);
    if (p.has_detections != (attrs.detection_dim >= 0) ||
        (p.has_detections && p.detection_dim != attrs.detection_dim))
      throw Error("--resume: '" + path + "' " +
                  (p.has_detections ? "has /detections with crop embeddings of " + std::to_string(p.detection_dim) +
                                          " values"
                                    : std::string("has no /detections")) +
                  ", this run " +
                  (attrs.detection_dim >= 0 ? "detects with crop embeddings of " + std::to_string(attrs.detection_dim) +
                                                  " values"
                                            : std::string("does not detect")) +
                  "; resume it with the flags that started it");
  });
  auto w = std::make_unique<Impl>();
  w->path = path;
  w->attrs = attrs;
  w->created = created;
  w->dim = static_cast<hsize_t>(dim);
  w->staged = p.staged_rows;
  w->rounds = p.rounds;
  w->done = p.split_done;
  w->rows = p.split_rows;
  w->first = p.split_first_row;
  if (p.has_detections) {
    w->det_dim = static_cast<int>(p.detection_dim);
    w->det_rows = p.split_detections;
    w->det_first = p.split_first_detection;
    w->det_staged = p.staged_detections;
  }
  // The counts of the published rounds go on being added to (a file from before
  // streaming has the counts of exactly its rows).
  if (const auto cj = nlohmann::json::parse(counts_json, nullptr, false); cj.is_object())
    for (int c = 0; c < kStatusCodeCount; ++c) {
      const auto it = cj.find(std::string(status_name(static_cast<StatusCode>(c))));
      if (it != cj.end() && it->is_number_integer()) w->counts[static_cast<std::size_t>(c)] = it->get<std::int64_t>();
    }
  Handle fapl = collective_file_access(comm);
  agreed(comm, "opening " + path, [&] {
    w->file = own_file(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "opening " + path);
  });
  keep_checksummed_format(w->file.get());
  w->transfer = collective_transfer();
  const hid_t f = w->file.get();
  ImageColumns columns = image_columns(w->dim, 1);
  const bool streamed = H5Lexists(f, layout::kSplitFirstRow, H5P_DEFAULT) > 0;
  for (const ImageColumn& c : columns.columns) {
    Handle d = open_dataset(f, c.path);
    const Extent e = extent(d.get());
    if (c.is_key) w->key_width = e.cols;
    // Rows past the commit point belong to a round a kill cut short: dropped. (A file from
    // before streaming has fixed-size datasets: it has no such rows.)
    if (streamed && static_cast<std::int64_t>(e.rows) != w->staged)
      set_rows(d.get(), static_cast<hsize_t>(w->staged), e.cols, c.path);
  }
  PM_CHECK(streamed, "'" + path + "' was written by an earlier pixelmill in one go; rerun it "
                     "without --resume (or with the version that wrote it)");
  if (w->detections())
    for (const DetectionColumn& c : detection_columns(static_cast<hsize_t>(w->det_dim))) {
      Handle d = open_dataset(f, c.path);
      const Extent e = extent(d.get());
      if (static_cast<std::int64_t>(e.rows) != w->det_staged)
        set_rows(d.get(), static_cast<hsize_t>(w->det_staged), e.cols, c.path);
    }
  // Entries that a cut-short round published past the commit point are cleared, so that
  // rows written there later can never be taken for theirs.
  std::vector<hsize_t> cleared;
  Handle done_set = open_dataset(f, layout::kSplitDone);
  Handle rows_set = open_dataset(f, layout::kSplitRows);
  Handle first_set = open_dataset(f, layout::kSplitFirstRow);
  {
    std::vector<std::uint8_t> on_disk(w->splits());
    if (!on_disk.empty())
      read_rows(done_set.get(), H5T_NATIVE_UINT8, 0, 0, on_disk.size(), on_disk.data());
    for (std::size_t i = 0; i < on_disk.size(); ++i)
      if (on_disk[i] && !w->done[i]) cleared.push_back(i);
  }
  if (!cleared.empty()) {
    write_entries(comm, done_set.get(), H5T_NATIVE_UINT8, cleared, std::vector<std::uint8_t>(cleared.size(), 0),
                  w->transfer.get());
    write_entries(comm, rows_set.get(), H5T_NATIVE_INT64, cleared, std::vector<std::int64_t>(cleared.size(), 0),
                  w->transfer.get());
    write_entries(comm, first_set.get(), H5T_NATIVE_INT64, cleared, std::vector<std::int64_t>(cleared.size(), -1),
                  w->transfer.get());
    if (w->detections()) {
      Handle dcount = open_dataset(f, layout::kSplitDetections);
      Handle dfirst = open_dataset(f, layout::kSplitFirstDetection);
      write_entries(comm, dcount.get(), H5T_NATIVE_INT64, cleared, std::vector<std::int64_t>(cleared.size(), 0),
                    w->transfer.get());
      write_entries(comm, dfirst.get(), H5T_NATIVE_INT64, cleared, std::vector<std::int64_t>(cleared.size(), -1),
                    w->transfer.get());
    }
  }
  w->write_root_attributes(false);
  flush(f, path);
  return RunWriter(std::move(w));
}

void RunWriter::append(const Comm& comm, std::vector<SplitResults>& mine) {
  QuietErrors quiet;
  Impl& w = *impl_;
  // This rank's splits in split order, checked.
  std::vector<SplitResults*> local;
  std::int64_t longest_key = 0;
  std::vector<std::int64_t> my_counts(kStatusCodeCount, 0);
  std::vector<std::int64_t> my_objects;  // per local split, its detection rows
  agreed(comm, "writing a round of " + w.path + ": checking results", [&] {
    for (SplitResults& s : mine) local.push_back(&s);
    std::sort(local.begin(), local.end(),
              [](const SplitResults* a, const SplitResults* b) { return a->split_index < b->split_index; });
    for (std::size_t i = 0; i < local.size(); ++i) {
      const SplitResults& s = *local[i];
      PM_CHECK(s.split_index < w.splits(), "split " + std::to_string(s.split_index) +
                                               " is outside the plan of " + std::to_string(w.splits()) +
                                               " splits");
      PM_CHECK(i == 0 || local[i - 1]->split_index != s.split_index,
               "split " + std::to_string(s.split_index) + " passed twice");
      PM_CHECK(!w.done[s.split_index], "split " + std::to_string(s.split_index) + " is already in the file");
      for (const ImageResult& r : s.rows) {
        const std::size_t d = r.embedding.size();
        PM_CHECK(d == w.dim || (d == 0 && !r.status.is_ok()),
                 "split " + std::to_string(s.split_index) + ": a row has an embedding of " +
                     std::to_string(d) + " values, expected " + std::to_string(w.dim));
        PM_CHECK(r.key.size() <= layout::kMaxKeyWidth, "a key of " + std::to_string(r.key.size()) + " bytes");
        longest_key = std::max<std::int64_t>(longest_key, static_cast<std::int64_t>(r.key.size()));
        my_counts[static_cast<std::size_t>(r.status.code)]++;
        PM_CHECK(w.detections() || r.objects.empty(), "a row has detections but the run writes none");
        for (const ObjectResult& o : r.objects)
          PM_CHECK(o.embedding.empty() || o.embedding.size() == static_cast<std::size_t>(w.det_dim),
                   "a detection has a crop embedding of " + std::to_string(o.embedding.size()) +
                       " values, expected " + std::to_string(w.det_dim));
      }
    }
    for (const SplitResults* s : local) {
      std::int64_t n = 0;
      for (const ImageResult& r : s->rows) n += static_cast<std::int64_t>(r.objects.size());
      my_objects.push_back(n);
    }
  });

  // The round's table: every split of every rank, in split order, placed after the rows
  // already in the file. The same on every rank.
  // (split, rows, detection rows) triples.
  std::vector<std::int64_t> triples;
  for (std::size_t k = 0; k < local.size(); ++k) {
    triples.push_back(static_cast<std::int64_t>(local[k]->split_index));
    triples.push_back(static_cast<std::int64_t>(local[k]->rows.size()));
    triples.push_back(my_objects[k]);
  }
  const std::vector<std::int64_t> all = allgatherv_values(comm, triples);
  std::vector<std::array<std::int64_t, 3>> round;
  for (std::size_t i = 0; i + 2 < all.size(); i += 3) round.push_back({all[i], all[i + 1], all[i + 2]});
  std::sort(round.begin(), round.end());
  for (std::size_t i = 1; i < round.size(); ++i)
    PM_CHECK(round[i - 1][0] != round[i][0], "split " + std::to_string(round[i][0]) + " was passed by two ranks");
  comm.allreduce_sum(my_counts);
  if (round.empty()) return;  // nothing anywhere: no round

  std::vector<hsize_t> indices;
  std::vector<std::int64_t> firsts, counts, det_firsts, det_counts;
  std::int64_t next = w.staged, det_next = w.det_staged;
  for (const auto& [index, n, d] : round) {
    indices.push_back(static_cast<hsize_t>(index));
    firsts.push_back(next);
    counts.push_back(n);
    det_firsts.push_back(det_next);
    det_counts.push_back(d);
    next += n;
    det_next += d;
  }
  const std::int64_t total = next, det_total = det_next;
  PM_CHECK(total <= layout::kMaxRows && det_total <= layout::kMaxRows, "a run of more than 2^40 rows");
  // Where this rank's splits go.
  std::vector<RowBlock> blocks, det_blocks;
  for (std::size_t k = 0; k < local.size(); ++k) {
    const auto at = static_cast<std::size_t>(
        std::lower_bound(indices.begin(), indices.end(), static_cast<hsize_t>(local[k]->split_index)) -
        indices.begin());
    blocks.push_back({static_cast<hsize_t>(firsts[at]), local[k]->rows.size()});
    if (my_objects[k] > 0) det_blocks.push_back({static_cast<hsize_t>(det_firsts[at]), static_cast<hsize_t>(my_objects[k])});
  }
  w.key_width = std::max<hsize_t>(w.key_width, static_cast<hsize_t>(comm.allreduce_max(longest_key)));

  // 1. The rows, flushed.
  const hid_t f = w.file.get();
  const ImageColumns columns = image_columns(w.dim, w.key_width);
  for (const ImageColumn& c : columns.columns) {
    write_round_column(comm, f, w.transfer.get(), c.path, static_cast<hsize_t>(total), c.cols, c.elem_size, c.mem_type, blocks,
                       [&](RowArena& arena) {
                         hsize_t index = 0;
                         for (std::size_t k = 0; k < local.size(); ++k) {
                           hsize_t file_row = blocks[k].first;
                           for (const ImageResult& r : local[k]->rows) c.fill(r, arena.row(file_row++, index++));
                         }
                       });
  }
  if (w.detections()) {
    for (const DetectionColumn& c : detection_columns(static_cast<hsize_t>(w.det_dim))) {
      write_round_column(comm, f, w.transfer.get(), c.path, static_cast<hsize_t>(det_total), c.cols, c.elem_size, c.mem_type,
                         det_blocks, [&](RowArena& arena) {
                           hsize_t index = 0;
                           std::size_t block = 0;
                           for (std::size_t k = 0; k < local.size(); ++k) {
                             if (my_objects[k] == 0) continue;
                             hsize_t det_row = det_blocks[block++].first;
                             auto image_row = static_cast<std::int64_t>(blocks[k].first);
                             for (const ImageResult& r : local[k]->rows) {
                               for (const ObjectResult& o : r.objects) c.fill(o, image_row, arena.row(det_row++, index++));
                               ++image_row;
                             }
                           }
                         });
    }
  }
  flush(f, w.path);
  if (const char* pause = std::getenv("PM_TEST_ROUND_PAUSE_MS")) {
    // Tests only: a window between the rows and their publication, to kill a rank in.
    const long ms = std::strtol(pause, nullptr, 10);
    if (ms > 0) {
      if (comm.rank() == 0) std::fprintf(stderr, "[test] round %lld: rows flushed, publishing them in %ld ms\n",
                                         static_cast<long long>(w.rounds + 1), ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
  }

  // 2. Published: /progress, then the attributes with staged_rows last, flushed.
  {
    Handle done_set = open_dataset(f, layout::kSplitDone);
    Handle rows_set = open_dataset(f, layout::kSplitRows);
    Handle first_set = open_dataset(f, layout::kSplitFirstRow);
    write_entries(comm, first_set.get(), H5T_NATIVE_INT64, indices, firsts, w.transfer.get());
    write_entries(comm, rows_set.get(), H5T_NATIVE_INT64, indices, counts, w.transfer.get());
    if (w.detections()) {
      Handle dfirst = open_dataset(f, layout::kSplitFirstDetection);
      Handle dcount = open_dataset(f, layout::kSplitDetections);
      write_entries(comm, dfirst.get(), H5T_NATIVE_INT64, indices, det_firsts, w.transfer.get());
      write_entries(comm, dcount.get(), H5T_NATIVE_INT64, indices, det_counts, w.transfer.get());
    }
    write_entries(comm, done_set.get(), H5T_NATIVE_UINT8, indices, std::vector<std::uint8_t>(indices.size(), 1),
                  w.transfer.get());
  }
  for (std::size_t i = 0; i < indices.size(); ++i) {
    w.done[indices[i]] = 1;
    w.rows[indices[i]] = counts[i];
    w.first[indices[i]] = firsts[i];
    if (w.detections()) {
      w.det_rows[indices[i]] = det_counts[i];
      w.det_first[indices[i]] = det_firsts[i];
    }
  }
  for (int c = 0; c < kStatusCodeCount; ++c) w.counts[static_cast<std::size_t>(c)] += my_counts[static_cast<std::size_t>(c)];
  w.staged = total;
  if (w.detections()) w.det_staged = det_total;
  ++w.rounds;
  w.write_root_attributes(false);
  flush(f, w.path);
  for (SplitResults& s : mine) std::vector<ImageResult>().swap(s.rows);
}

}  // namespace pm::h5
