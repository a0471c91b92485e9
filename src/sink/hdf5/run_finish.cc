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
    out.push_back({begin, static_cast<hsize_t>(staged_first[s]) + offset, end - begin});
  }
  return out;
}

Handle open_dataset(hid_t file, const char* path) {
  return own_dataset(H5Dopen2(file, path, H5P_DEFAULT), std::string("opening ") + path);
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
  // Where each split's rows go in split order.
  std::vector<std::int64_t> final_first(w.splits());
  std::int64_t total = 0;
  bool in_order = true;
  for (std::size_t s = 0; s < w.splits(); ++s) {
    final_first[s] = total;
    in_order = in_order && (w.rows[s] == 0 || w.first[s] == total);
    total += w.rows[s];
  }
  in_order = in_order && total == w.staged;
  if (in_order) {
    // Splits without rows may still carry a staged first row: the final table says
    // where they would begin.
    if (w.splits() > 0) {  // (HDF5 cannot write even nothing into a dataset of no elements)
      Handle first_set = open_dataset(w.file.get(), layout::kSplitFirstRow);
      std::vector<RowBlock> blocks;
      if (comm.rank() == 0) blocks.push_back({0, w.splits()});
      write_rows(first_set.get(), H5T_NATIVE_INT64, 0, blocks, final_first.data(), w.transfer.get());
    }
    w.first = final_first;
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
    out = own_file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "creating " + temp);
  });
  try {
    const hid_t dst = out.get();
    own_group(H5Gcreate2(dst, layout::kImages, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /images");
    const ImageColumns columns = image_columns(w.dim, w.key_width);
    const auto n = static_cast<hsize_t>(total);
    const hsize_t lo = n * static_cast<hsize_t>(comm.rank()) / static_cast<hsize_t>(comm.size());
    const hsize_t hi = n * static_cast<hsize_t>(comm.rank() + 1) / static_cast<hsize_t>(comm.size());
    for (const ImageColumn& c : columns.columns) {
      Handle from = open_dataset(w.file.get(), c.path);
      Handle to = create_rows(dst, c.path, c.file_type, n, c.cols);
      const std::size_t row_bytes = c.elem_size * std::max<hsize_t>(1, c.cols);
      const hsize_t piece = std::max<hsize_t>(1, kPieceBytes / row_bytes);
      // Every rank takes part in as many collective writes as the rank with the most pieces.
      const auto mine = static_cast<std::int64_t>((hi - lo + piece - 1) / piece);
      const std::int64_t pieces = comm.allreduce_max(mine);
      std::vector<std::byte> buffer;
      for (std::int64_t k = 0; k < pieces; ++k) {
        const hsize_t a = std::min(hi, lo + static_cast<hsize_t>(k) * piece);
        const hsize_t b = std::min(hi, a + piece);
        std::vector<RowBlock> blocks;
        agreed(comm, std::string("reordering ") + c.path, [&] {
          buffer.resize(static_cast<std::size_t>(b - a) * row_bytes);
          for (const Segment& seg : segments(final_first, w.first, w.rows, a, b))
            read_rows(from.get(), c.mem_type, c.cols, seg.from, seg.count,
                      buffer.data() + static_cast<std::size_t>(seg.to - a) * row_bytes);
          if (b > a) blocks.push_back({a, b - a});
        });
        write_rows(to.get(), c.mem_type, c.cols, blocks, buffer.data(), w.transfer.get());
      }
    }
    // /progress of the final file: every split done, at its place in split order.
    own_group(H5Gcreate2(dst, layout::kProgress, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /progress");
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
    w.first = final_first;
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
