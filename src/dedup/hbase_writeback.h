// The HBase write-back step of run_dedup, kept apart so that pm_dedup builds without HBase:
// opened (and its table checked) before the join, written after /dedup is in the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pixelmill/comm.h"
#include "pixelmill/dedup_rows.h"
#include "pixelmill/tls_files.h"

namespace pm::dedup {

class HBaseWriteBack {
 public:
  virtual ~HBaseWriteBack() = default;
  // Writes this rank's rows; throws pm::Error naming the failed rows. Not collective.
  // Returns the rows written; older rows whose group cell was rewritten are counted by
  // regrouped_written().
  virtual std::int64_t write(const DedupRows& rows) = 0;
  virtual std::int64_t regrouped_written() const = 0;
};

// Collective: opens a writer to `target` (hbase://..., with its URL options) on every rank,
// checks the table and the family of `column`, and agrees on one timestamp for the run's
// cells. Every rank throws the same pm::Error when any rank fails, or when this build has
// no HBase support.
std::unique_ptr<HBaseWriteBack> open_hbase_write_back(const Comm& comm, const std::string& target,
                                                      const std::string& column,
                                                      const TlsFiles& tls = {});

}  // namespace pm::dedup
