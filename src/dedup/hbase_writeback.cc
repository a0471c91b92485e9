#include "hbase_writeback.h"

#include <chrono>

#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#ifdef PM_HAVE_HBASE
#include "pixelmill/hbase.h"
#endif

namespace pm::dedup {

#ifdef PM_HAVE_HBASE
namespace {

class Writer final : public HBaseWriteBack {
 public:
  explicit Writer(const HBaseDedupWriterOptions& o) : writer_(o) {}
  std::int64_t write(const DedupRows& rows) override {
    const std::int64_t before = writer_.rows_written();
    writer_.write(rows);
    return writer_.rows_written() - before;
  }
  std::int64_t regrouped_written() const override { return writer_.regrouped_written(); }

 private:
  HBaseDedupWriter writer_;
};

}  // namespace

std::unique_ptr<HBaseWriteBack> open_hbase_write_back(const Comm& comm, const std::string& target,
                                                      const std::string& column,
                                                      const TlsFiles& tls) {
  // One timestamp for every cell of the run, whichever rank writes it.
  std::string now = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
  now = comm.broadcast(now, 0);
  std::unique_ptr<HBaseWriteBack> out;
  agreed(comm, "HBase output of dedup results", [&] {
    HBaseDedupWriterOptions o;
    o.writer.url = parse_hbase_url(target);
    o.writer.client = hbase_client_options(o.writer.url, tls);
    o.writer.timestamp_ms = std::stoll(now);
    o.column = parse_hbase_column(column);
    try {
      out = std::make_unique<Writer>(o);
    } catch (const std::exception& e) {
      throw Error(std::string(e.what()) + " (writing dedup results to " + o.writer.url.str() +
                  "; --no-hbase-write skips the HBase write-back)");
    }
  });
  return out;
}
#else
std::unique_ptr<HBaseWriteBack> open_hbase_write_back(const Comm&, const std::string& target,
                                                      const std::string&, const TlsFiles&) {
  throw Error("dedup results should go to " + target +
              " but this pixelmill was built without HBase support (--no-hbase-write skips it)");
}
#endif

}  // namespace pm::dedup
