// RunWriter::finish: the end of a streamed run.
//
// When the rounds happened to place every split after the one before it (one round, or
// splits completed in order), the file already is final: only its attributes change.
// Otherwise the rows are copied into split order through a temporary file beside the
// output, renamed over it once complete and closed. Each rank copies a contiguous share
// of the final rows, in pieces of at most kPieceBytes per dataset, so the copy needs no
// more memory than one piece whatever the size of the run.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <system_error>

#include "h5_attributes.h"
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "image_columns.h"
#include "run_writer_impl.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

constexpr std::size_t kPieceBytes = std::size_t{64} << 20;

// A run of rows copied from the staged file to the final one.
struct Segment {
  hsize_t to = 0;    // first row in the final file
  hsize_t from = 0;  // first row in the staged file
  hsize_t count = 0;
  std::size_t split = 0;
};

// The segments of final rows [lo, hi): splits in split order, each at its staged place.
std::vector<Segment> segments(const std::vector<std::int64_t>& final_first,
                              const std::vector<std::int64_t>& staged_first,
                              const std::vector<std::int64_t>& rows, hsize_t lo, hsize_t hi) {
  std::vector<Segment> out;
  // The first split whose rows end after lo.
  auto it = std::upper_bound(final_first.begin(), final_first.end(), static_cast<std::int64_t>(lo));
  std::size_t s = it == final_first.begin() ? 0 : static_cast<std::size_t>(it - final_first.begin()) - 1;
  for (; s < final_first.size() && static_cast<hsize_t>(final_first[s]) < hi; ++s) {
    const auto begin = std::max<hsize_t>(lo, static_cast<hsize_t>(final_first[s]));
    const auto end = std::min<hsize_t>(hi, static_cast<hsize_t>(final_first[s] + rows[s]));
    if (end <= begin) continue;
    const hsize_t offset = begin - static_cast<hsize_t>(final_first[s]);
    out.push_back({begin, static_cast<hsize_t>(staged_first[s]) + offset, end - begin, s});
  }
  return out;
}

Handle open_dataset(hid_t file, const char* path) {
  return own_dataset(H5Dopen2(file, path, H5P_DEFAULT), std::string("opening ") + path);
}

// Where each split's rows begin in split order; `in_order` is whether the staged rows
// already are there.
std::vector<std::int64_t> split_order(const std::vector<std::int64_t>& rows, const std::vector<std::int64_t>& first,
                                      std::int64_t staged, bool& in_order, std::int64_t& total) {
  std::vector<std::int64_t> final_first(rows.size());
  total = 0;
  in_order = true;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    final_first[s] = total;
    in_order = in_order && (rows[s] == 0 || first[s] == total);
    total += rows[s];
  }
  in_order = in_order && total == staged;
  return final_first;
}

// The table of one row set (images or detections) being put in split order.
struct Reorder {
  const std::vector<std::int64_t>& final_first;
  const std::vector<std::int64_t>& staged_first;
  const std::vector<std::int64_t>& rows;
  hsize_t total;
};

// Copies dataset `path` (cols wide, elem bytes) into split order, each rank a contiguous
// share of the final rows in pieces of at most kPieceBytes. `adjust` (may be empty) fixes
// up the values of one segment in the buffer (row ids that move with the image rows).
void copy_in_split_order(const Comm& comm, hid_t src, hid_t dst, const char* path, hid_t file_type, hid_t mem_type,
                         std::size_t elem_size, hsize_t cols, const Reorder& r, hid_t transfer,
                         const std::function<void(const Segment&, std::byte*)>& adjust) {
  const hsize_t n = r.total;
  const hsize_t lo = n * static_cast<hsize_t>(comm.rank()) / static_cast<hsize_t>(comm.size());
  const hsize_t hi = n * static_cast<hsize_t>(comm.rank() + 1) / static_cast<hsize_t>(comm.size());
  Handle from = open_dataset(src, path);
  Handle to = create_rows(dst, path, file_type, n, cols);
  const std::size_t row_bytes = elem_size * std::max<hsize_t>(1, cols);
  const hsize_t piece = std::max<hsize_t>(1, kPieceBytes / row_bytes);
  // Every rank takes part in as many collective writes as the rank with the most pieces.
  const auto mine = static_cast<std::int64_t>((hi - lo + piece - 1) / piece);
  const std::int64_t pieces = comm.allreduce_max(mine);
  std::vector<std::byte> buffer;
  for (std::int64_t k = 0; k < pieces; ++k) {
    const hsize_t a = std::min(hi, lo + static_cast<hsize_t>(k) * piece);
    const hsize_t b = std::min(hi, a + piece);
    std::vector<RowBlock> blocks;
    agreed(comm, std::string("reordering ") + path, [&] {
      buffer.resize(static_cast<std::size_t>(b - a) * row_bytes);
      for (const Segment& seg : segments(r.final_first, r.staged_first, r.rows, a, b)) {
        std::byte* at = buffer.data() + static_cast<std::size_t>(seg.to - a) * row_bytes;
        read_rows(from.get(), mem_type, cols, seg.from, seg.count, at);
        if (adjust) adjust(seg, at);
      }
      if (b > a) blocks.push_back({a, b - a});
    });
    write_rows(to.get(), mem_type, cols, blocks, buffer.data(), transfer);
  }
}

}  // namespace

std::int64_t RunWriter::finish(const Comm& comm) {
  QuietErrors quiet;
  Impl& w = *impl_;
  const bool complete = std::all_of(w.done.begin(), w.done.end(), [](std::uint8_t d) { return d == 1; });
  if (!complete) {
    // Stopped early: the published rounds stay for --resume.
    w.write_root_attributes(false);
    check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "flushing " + w.path);
    w.file.reset();
    return w.staged;
  }
  // Where each split's rows (and detection rows) go in split order.
  bool in_order = true, det_in_order = true;
  std::int64_t total = 0, det_total = 0;
  const std::vector<std::int64_t> final_first = split_order(w.rows, w.first, w.staged, in_order, total);
  std::vector<std::int64_t> det_final_first;
  if (w.detections()) det_final_first = split_order(w.det_rows, w.det_first, w.det_staged, det_in_order, det_total);
  in_order = in_order && det_in_order;
  if (in_order) {
    // Splits without rows may still carry a staged first row: the final table says
    // where they would begin.
    if (w.splits() > 0) {  // (HDF5 cannot write even nothing into a dataset of no elements)
      Handle first_set = open_dataset(w.file.get(), layout::kSplitFirstRow);
      std::vector<RowBlock> blocks;
      if (comm.rank() == 0) blocks.push_back({0, w.splits()});
      write_rows(first_set.get(), H5T_NATIVE_INT64, 0, blocks, final_first.data(), w.transfer.get());
      if (w.detections()) {
        Handle dfirst = open_dataset(w.file.get(), layout::kSplitFirstDetection);
        write_rows(dfirst.get(), H5T_NATIVE_INT64, 0, blocks, det_final_first.data(), w.transfer.get());
      }
    }
    w.first = final_first;
    w.det_first = det_final_first;
    w.write_root_attributes(true);
    check(H5Fflush(w.file.get(), H5F_SCOPE_GLOBAL), "flushing " + w.path);
    w.file.reset();
    return total;
  }

  // Reorder through a temporary file.
  const std::string temp = w.path + ".final-tmp";
  Handle fapl = collective_file_access(comm);
  Handle out;
  agreed(comm, "creating " + temp, [&] {
    out = own_file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, file_creation().get(), fapl.get()), "creating " + temp);
  });
  keep_checksummed_format(out.get());
  try {
    const hid_t dst = out.get();
    create_group(dst, layout::kImages);
    const ImageColumns columns = image_columns(w.dim, w.key_width);
    const Reorder images{final_first, w.first, w.rows, static_cast<hsize_t>(total)};
    for (const ImageColumn& c : columns.columns)
      copy_in_split_order(comm, w.file.get(), dst, c.path, c.file_type, c.mem_type, c.elem_size, c.cols, images,
                          w.transfer.get(), {});
    if (w.detections()) {
      Handle group = create_group(dst, layout::kDetections);
      for (const auto& [name, value] : w.attrs.detection_attributes)
        write_attribute(group.get(), name.c_str(), value);
      const Reorder dets{det_final_first, w.det_first, w.det_rows, static_cast<hsize_t>(det_total)};
      for (const DetectionColumn& c : detection_columns(static_cast<hsize_t>(w.det_dim))) {
        // A detection names its image's row: it moves by as much as the image's split.
        std::function<void(const Segment&, std::byte*)> adjust;
        if (c.is_image)
          adjust = [&](const Segment& seg, std::byte* at) {
            const std::int64_t delta = final_first[seg.split] - w.first[seg.split];
            auto* v = reinterpret_cast<std::int64_t*>(at);
            for (hsize_t i = 0; i < seg.count; ++i) v[i] += delta;
          };
        copy_in_split_order(comm, w.file.get(), dst, c.path, c.file_type, c.mem_type, c.elem_size, c.cols, dets,
                            w.transfer.get(), adjust);
      }
    }
    // /progress of the final file: every split done, at its place in split order.
    create_group(dst, layout::kProgress);
    const auto s = static_cast<hsize_t>(w.splits());
    std::vector<RowBlock> blocks;
    if (comm.rank() == 0 && s > 0) blocks.push_back({0, s});
    Handle done_set = create_rows(dst, layout::kSplitDone, H5T_STD_U8LE, s, 0);
    Handle rows_set = create_rows(dst, layout::kSplitRows, H5T_STD_I64LE, s, 0);
    Handle first_set = create_rows(dst, layout::kSplitFirstRow, H5T_STD_I64LE, s, 0);
    if (s > 0) {
      write_rows(done_set.get(), H5T_NATIVE_UINT8, 0, blocks, w.done.data(), w.transfer.get());
      write_rows(rows_set.get(), H5T_NATIVE_INT64, 0, blocks, w.rows.data(), w.transfer.get());
      write_rows(first_set.get(), H5T_NATIVE_INT64, 0, blocks, final_first.data(), w.transfer.get());
    }
    if (w.detections()) {
      Handle dcount = create_rows(dst, layout::kSplitDetections, H5T_STD_I64LE, s, 0);
      Handle dfirst = create_rows(dst, layout::kSplitFirstDetection, H5T_STD_I64LE, s, 0);
      if (s > 0) {
        write_rows(dcount.get(), H5T_NATIVE_INT64, 0, blocks, w.det_rows.data(), w.transfer.get());
        write_rows(dfirst.get(), H5T_NATIVE_INT64, 0, blocks, det_final_first.data(), w.transfer.get());
      }
    }
    w.first = final_first;
    w.det_first = det_final_first;
    // The attributes on the final file (the round writer's tables now describe it).
    std::swap(w.file, out);
    w.write_root_attributes(true);
    std::swap(w.file, out);
  } catch (...) {
    out.reset();
    if (comm.rank() == 0) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
    }
    throw;
  }
  out.reset();
  w.file.reset();
  // Rank 0 renames once every rank has closed both files.
  comm.barrier();
  agreed_on_root(comm, "replacing " + w.path, [&] {
    std::filesystem::rename(temp, w.path);
    return std::string();
  });
  return total;
}

}  // namespace pm::h5
