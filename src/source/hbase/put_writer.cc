// Chunked putMultiple with explicit timestamps (HBASE.md 4.4): a failed chunk may have been
// applied in part, so it is retried whole; the same timestamps make that idempotent.
#include <chrono>
#include <map>

#include "pixelmill/hbase.h"
#include "retry.h"

namespace pm {

struct HBasePutWriter::Impl {
  HBaseWriterOptions o;
  hbase::TransportCounters counters;  // before the session that points at it
  hbase::Session session;
  std::vector<HBaseCell> pending;
  std::int64_t pending_bytes = 0;
  std::int64_t cells = 0;
  std::int64_t bytes = 0;

  explicit Impl(const HBaseWriterOptions& opt) : o(opt), session(opt.url, opt.client, &counters) {
    if (o.timestamp_ms < 0)
      o.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  }

  void send() {
    if (pending.empty()) return;
    // One TPut per row, its cells in arrival order.
    std::vector<hbase::gen::TPut> puts;
    std::map<std::string, std::size_t> index;
    for (auto& c : pending) {
      auto [it, fresh] = index.try_emplace(c.row, puts.size());
      if (fresh) {
        hbase::gen::TPut p;
        p.row = c.row;
        p.__set_timestamp(o.timestamp_ms);
        puts.push_back(std::move(p));
      }
      hbase::gen::TColumnValue cv;
      cv.family = std::move(c.family);
      cv.qualifier = std::move(c.qualifier);
      cv.value = std::move(c.value);
      cv.__set_timestamp(o.timestamp_ms);
      puts[it->second].columnValues.push_back(std::move(cv));
    }
    hbase::with_retries(session, o.retry, "putMultiple",
                        [&](auto& c) { c.putMultiple(o.url.table, puts); });
    cells += static_cast<std::int64_t>(pending.size());
    bytes += pending_bytes;
    pending.clear();
    pending_bytes = 0;
  }
};

HBasePutWriter::HBasePutWriter(const HBaseWriterOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}

HBasePutWriter::~HBasePutWriter() {
  try {
    impl_->send();
  } catch (...) {
    // Destructors must not throw; callers who care call flush().
  }
}

void HBasePutWriter::add(HBaseCell cell) {
  const auto size = static_cast<std::int64_t>(cell.row.size() + cell.family.size() +
                                              cell.qualifier.size() + cell.value.size());
  if (!impl_->pending.empty() &&
      (impl_->pending_bytes + size > impl_->o.max_bytes_per_call ||
       static_cast<int>(impl_->pending.size()) >= impl_->o.max_rows_per_call))
    impl_->send();
  impl_->pending.push_back(std::move(cell));
  impl_->pending_bytes += size;
}

void HBasePutWriter::flush() { impl_->send(); }
void HBasePutWriter::discard() {
  impl_->pending.clear();
  impl_->pending_bytes = 0;
}
std::int64_t HBasePutWriter::cells_written() const { return impl_->cells; }
std::int64_t HBasePutWriter::bytes_written() const { return impl_->bytes; }
std::int64_t HBasePutWriter::timestamp_ms() const { return impl_->o.timestamp_ms; }
ConnectionCounters HBasePutWriter::connection_counters() const {
  ConnectionCounters c;
  c.remote = true;
  c.retries = impl_->counters.retries.load(std::memory_order_relaxed);
  c.reconnects = impl_->counters.reconnects.load(std::memory_order_relaxed);
  return c;
}

}  // namespace pm
