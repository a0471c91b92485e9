#include "image_columns.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "pixelmill/output_layout.h"

namespace pm::h5 {

namespace {

// Copies `message` into a kErrorLength field, NUL padded. A message that does not fit
// is cut at a UTF-8 character boundary, so readers never see half a character.
void put_error(const std::string& message, char* field) {
  std::size_t n = std::min(message.size(), layout::kErrorLength);
  if (n < message.size()) {
    // message[n] is the first byte left out; while it continues a character, that
    // character started inside the field: drop its leading bytes too.
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  }
  std::memset(field, 0, layout::kErrorLength);
  std::memcpy(field, message.data(), n);
}

}  // namespace

ImageColumns image_columns(hsize_t dim, hsize_t key_width) {
  ImageColumns c;
  Handle error_type = own_type(H5Tcopy(H5T_C_S1), "H5Tcopy");
  check(H5Tset_size(error_type.get(), layout::kErrorLength), "H5Tset_size");
  check(H5Tset_strpad(error_type.get(), H5T_STR_NULLPAD), "H5Tset_strpad");
  const hid_t error = error_type.get();
  c.types.push_back(std::move(error_type));
  c.columns = {
      {layout::kKey, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, key_width, true,
       [](const ImageResult& r, void* out) { std::memcpy(out, r.key.data(), r.key.size()); }},
      {layout::kKeyLength, H5T_STD_U32LE, H5T_NATIVE_UINT32, 4, 0, false,
       [](const ImageResult& r, void* out) {
         *static_cast<std::uint32_t*>(out) = static_cast<std::uint32_t>(r.key.size());
       }},
      {layout::kStatus, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, 0, false,
       [](const ImageResult& r, void* out) {
         *static_cast<std::uint8_t*>(out) = static_cast<std::uint8_t>(r.status.code);
       }},
      {layout::kError, error, error, layout::kErrorLength, 0, false,
       [](const ImageResult& r, void* out) { put_error(r.status.message, static_cast<char*>(out)); }},
      {layout::kEmbedding, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, dim, false,
       [](const ImageResult& r, void* out) {
         // Failed records keep the zeros the storage starts with.
         if (!r.embedding.empty()) std::memcpy(out, r.embedding.data(), r.embedding.size() * sizeof(float));
       }},
      {layout::kContentHash, H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, layout::kContentHashBytes, false,
       [](const ImageResult& r, void* out) { std::memcpy(out, r.content_hash.data(), r.content_hash.size()); }},
      {layout::kPhash, H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 0, false,
       [](const ImageResult& r, void* out) { *static_cast<std::uint64_t*>(out) = r.phash; }},
      {layout::kWidth, H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, false,
       [](const ImageResult& r, void* out) { *static_cast<std::int32_t*>(out) = r.width; }},
      {layout::kHeight, H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, false,
       [](const ImageResult& r, void* out) { *static_cast<std::int32_t*>(out) = r.height; }},
      {layout::kTimestamp, H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, false,
       [](const ImageResult& r, void* out) { *static_cast<std::int64_t*>(out) = r.timestamp; }},
  };
  return c;
}

std::vector<DetectionColumn> detection_columns(hsize_t dim) {
  std::vector<DetectionColumn> c{
      {layout::kDetImage, H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 0, true,
       [](const ObjectResult&, std::int64_t row, void* out) { *static_cast<std::int64_t*>(out) = row; }},
      {layout::kDetBox, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 4, false,
       [](const ObjectResult& o, std::int64_t, void* out) { std::memcpy(out, o.box.data(), 4 * sizeof(float)); }},
      {layout::kDetScore, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 0, false,
       [](const ObjectResult& o, std::int64_t, void* out) { *static_cast<float*>(out) = o.score; }},
      {layout::kDetClass, H5T_STD_I32LE, H5T_NATIVE_INT32, 4, 0, false,
       [](const ObjectResult& o, std::int64_t, void* out) { *static_cast<std::int32_t*>(out) = o.cls; }},
  };
  if (dim > 0)
    c.push_back({layout::kDetEmbedding, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, dim, false,
                 [](const ObjectResult& o, std::int64_t, void* out) {
                   if (!o.embedding.empty()) std::memcpy(out, o.embedding.data(), o.embedding.size() * sizeof(float));
                 }});
  return c;
}

}  // namespace pm::h5
