// /search of `pixelmill search --output`: the hits of each query, written by one process
// into the queries' own run file after their extract closed it.
#include "h5_file.h"
#include "h5_handle.h"
#include "h5_rows.h"
#include "pixelmill/error.h"
#include "pixelmill/hdf5_io.h"

namespace pm::h5 {

void write_search(const std::string& path, int top, const std::vector<std::int64_t>& rows,
                  const std::vector<float>& cosine) {
  PM_CHECK(top >= 1 && rows.size() == cosine.size() && rows.size() % static_cast<std::size_t>(top) == 0,
           "write_search: [queries, top] arrays expected");
  Handle fapl = serial_file_access();
  Handle file = own_file(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "opening " + path);
  keep_checksummed_format(file.get());
  const hid_t f = file.get();
  if (exists(f, "/search")) check(H5Ldelete(f, "/search", H5P_DEFAULT), "deleting /search");
  Handle group = create_group(f, "/search");
  const auto q = static_cast<hsize_t>(rows.size() / static_cast<std::size_t>(top));
  const auto k = static_cast<hsize_t>(top);
  const std::vector<RowBlock> all = {{0, q}};
  Handle r = create_rows(f, "/search/row", H5T_STD_I64LE, q, k);
  if (q > 0) write_rows(r.get(), H5T_NATIVE_INT64, k, all, rows.data(), H5P_DEFAULT);
  Handle c = create_rows(f, "/search/cosine", H5T_IEEE_F32LE, q, k);
  if (q > 0) write_rows(c.get(), H5T_NATIVE_FLOAT, k, all, cosine.data(), H5P_DEFAULT);
}

}  // namespace pm::h5
