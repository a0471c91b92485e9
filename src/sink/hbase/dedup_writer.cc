// Write-back of dedup results to HBase: four small cells per row (hbase.h lists them).
// Chunks are cut here, not inside HBasePutWriter, so that a failed chunk can be named by
// its rows: the put writer's own limits are set so it never sends a chunk on its own.
#include <cstdio>
#include <sstream>

#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

namespace pm {

namespace {

std::string score_text(const DedupRows& rows, std::size_t i) {
  if (rows.pairs[i] == 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(rows.best_score[i]));
  return buf;
}

std::string header_text(const DedupRows& rows, std::size_t i) {
  char threshold[32];
  std::snprintf(threshold, sizeof threshold, "%.6f", rows.threshold);
  std::ostringstream s;
  s << "threshold=" << threshold << ";group_row=" << rows.group[i]
    << ";exact_group_row=" << rows.exact_group[i] << ";pairs=" << rows.pairs[i];
  return s.str();
}

}  // namespace

std::string hbase_dedup_qualifier(const std::string& prefix, const std::string& field) {
  return prefix + "." + field;
}

struct HBaseDedupWriter::Impl {
  HBaseDedupWriterOptions o;
  HBasePutWriter writer;
  std::int64_t rows = 0;
  std::int64_t regrouped = 0;
  static HBaseWriterOptions unchunked(HBaseWriterOptions w) {
    w.max_rows_per_call = 1 << 30;
    w.max_bytes_per_call = std::int64_t{1} << 40;
    return w;
  }
  explicit Impl(const HBaseDedupWriterOptions& opt) : o(opt), writer(unchunked(opt.writer)) {}
};

HBaseDedupWriter::HBaseDedupWriter(const HBaseDedupWriterOptions& options) {
  if (options.column.family.empty() || options.column.qualifier.empty())
    throw Error("HBase dedup column must be family:prefix (e.g. f:dedup), not '" +
                options.column.str() + "'");
  if (options.rows_per_chunk < 1) throw Error("HBase dedup write-back: rows_per_chunk must be >= 1");
  hbase_check_table_family(options.writer.url, options.column.family, options.writer.client);
  impl_ = std::make_unique<Impl>(options);
}

HBaseDedupWriter::~HBaseDedupWriter() = default;

void HBaseDedupWriter::write(const DedupRows& rows) {
  const auto& col = impl_->o.column;
  const std::string q_group = hbase_dedup_qualifier(col.qualifier, "group");
  const std::string q_exact = hbase_dedup_qualifier(col.qualifier, "exact_group");
  const std::string q_score = hbase_dedup_qualifier(col.qualifier, "score");
  const std::string q_header = hbase_dedup_qualifier(col.qualifier, "header");
  const std::size_t chunk = static_cast<std::size_t>(impl_->o.rows_per_chunk);
  for (std::size_t b = 0; b < rows.size(); b += chunk) {
    const std::size_t e = std::min(rows.size(), b + chunk);
    std::int64_t written = 0;
    try {
      for (std::size_t i = b; i < e; ++i) {
        // A row without a key (HBase rows always have one) is a key that extract did not
        // store, being over --max-key-bytes: nothing names its HBase row, so it is skipped
        // rather than written under another key.
        if (rows.key[i].empty()) continue;
        ++written;
        impl_->writer.add({rows.key[i], col.family, q_group, rows.group_key[i]});
        impl_->writer.add({rows.key[i], col.family, q_exact, rows.exact_group_key[i]});
        impl_->writer.add({rows.key[i], col.family, q_score, score_text(rows, i)});
        impl_->writer.add({rows.key[i], col.family, q_header, header_text(rows, i)});
      }
      impl_->writer.flush();
    } catch (const std::exception& ex) {
      impl_->writer.discard();  // not retried again when the writer is destroyed
      const auto first = rows.first_row + static_cast<std::int64_t>(b);
      throw Error("writing the dedup results of rows " + std::to_string(first) + ".." +
                  std::to_string(first + static_cast<std::int64_t>(e - b) - 1) + " (keys '" +
                  hbase_printable_key(rows.key[b]) + "' .. '" + hbase_printable_key(rows.key[e - 1]) +
                  "') to " + impl_->o.writer.url.str() + " " + col.family + ":" +
                  col.qualifier + ".*: " + ex.what());
    }
    impl_->rows += written;
  }
  // Older rows whose group tonight's rows merged into an older group: the group cell only.
  for (std::size_t b = 0; b < rows.regrouped_key.size(); b += chunk) {
    const std::size_t e = std::min(rows.regrouped_key.size(), b + chunk);
    std::int64_t written = 0;
    try {
      for (std::size_t i = b; i < e; ++i) {
        if (rows.regrouped_key[i].empty()) continue;  // a key over --max-key-bytes: see above
        ++written;
        impl_->writer.add({rows.regrouped_key[i], col.family, q_group, rows.regrouped_group_key[i]});
      }
      impl_->writer.flush();
    } catch (const std::exception& ex) {
      impl_->writer.discard();
      throw Error("rewriting the group of older rows (keys '" +
                  hbase_printable_key(rows.regrouped_key[b]) + "' .. '" +
                  hbase_printable_key(rows.regrouped_key[e - 1]) + "'), merged by this run, in " +
                  impl_->o.writer.url.str() + " " + col.family + ":" + q_group + ": " + ex.what());
    }
    impl_->regrouped += written;
  }
}

std::int64_t HBaseDedupWriter::rows_written() const { return impl_->rows; }
std::int64_t HBaseDedupWriter::regrouped_written() const { return impl_->regrouped; }

}  // namespace pm
