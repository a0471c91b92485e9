// Write-back of embeddings to HBase: binary little-endian float32 plus a header cell.
#include <cstring>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "pixelmill/status.h"

namespace pm {

std::string hbase_embedding_header_qualifier(const std::string& qualifier) {
  return qualifier + ".header";
}

std::string hbase_embedding_header(std::size_t dim, const std::string& model_sha256,
                                   const std::string& status_name) {
  std::ostringstream s;
  s << "dtype=float32;dim=" << dim << ";model_sha256=" << model_sha256
    << ";status=" << status_name;
  return s.str();
}

std::string hbase_encode_embedding(const std::vector<float>& v) {
  std::string out(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    // Explicit little-endian, whatever the host order.
    for (int b = 0; b < 4; ++b) out[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return out;
}

std::vector<float> hbase_decode_embedding(const std::string& bytes) {
  if (bytes.size() % 4 != 0)
    throw Error("embedding cell of " + std::to_string(bytes.size()) + " bytes: not float32");
  std::vector<float> v(bytes.size() / 4);
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b)
      bits |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i * 4 + b])) << (8 * b);
    std::memcpy(&v[i], &bits, 4);
  }
  return v;
}

std::string hbase_detections_qualifier(const std::string& qualifier) { return qualifier + ".detections"; }

std::string hbase_detections_cell(const std::vector<ObjectResult>& objects, const std::vector<std::string>& classes) {
  nlohmann::json list = nlohmann::json::array();
  for (const ObjectResult& o : objects) {
    const auto c = static_cast<std::size_t>(o.cls);
    list.push_back({{"box", {o.box[0], o.box[1], o.box[2], o.box[3]}},
                    {"score", o.score},
                    {"class", c < classes.size() ? classes[c] : std::to_string(o.cls)}});
  }
  return list.dump();
}

struct HBaseEmbeddingWriter::Impl {
  HBaseEmbeddingWriterOptions o;
  std::mutex mu;
  HBasePutWriter writer;
  std::int64_t rows = 0;
  explicit Impl(const HBaseEmbeddingWriterOptions& opt) : o(opt), writer(opt.writer) {}
};

HBaseEmbeddingWriter::HBaseEmbeddingWriter(const HBaseEmbeddingWriterOptions& options) {
  if (options.column.family.empty() || options.column.qualifier.empty())
    throw Error("HBase output column must be family:qualifier");
  hbase_check_table_family(options.writer.url, options.column.family, options.writer.client);
  impl_ = std::make_unique<Impl>(options);
}

HBaseEmbeddingWriter::~HBaseEmbeddingWriter() = default;

void HBaseEmbeddingWriter::write(const std::vector<ImageResult>& rows) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const auto& col = impl_->o.column;
  const std::string header_q = hbase_embedding_header_qualifier(col.qualifier);
  for (const auto& r : rows) {
    // A key over extract's --max-key-bytes is not kept (its row has no key): nothing
    // names the HBase row it came from, and no row may be written under another key.
    if (r.key.empty()) continue;
    const bool ok = r.status.is_ok() && !r.embedding.empty();
    impl_->writer.add({r.key, col.family, header_q,
                       hbase_embedding_header(ok ? r.embedding.size() : 0, impl_->o.model_sha256,
                                              std::string(status_name(r.status.code)))});
    if (ok) impl_->writer.add({r.key, col.family, col.qualifier, hbase_encode_embedding(r.embedding)});
    if (ok && !impl_->o.detection_classes.empty())
      impl_->writer.add({r.key, col.family, hbase_detections_qualifier(col.qualifier),
                         hbase_detections_cell(r.objects, impl_->o.detection_classes)});
    ++impl_->rows;
  }
}

void HBaseEmbeddingWriter::flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->writer.flush();
}

std::int64_t HBaseEmbeddingWriter::rows_written() const { return impl_->rows; }

ConnectionCounters HBaseEmbeddingWriter::connection_counters() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->writer.connection_counters();
}

}  // namespace pm
