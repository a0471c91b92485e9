// Private to pm_hdf5: the state of a RunWriter, shared by its rounds (run_writer.cc) and
// its end (run_finish.cc). Every rank holds the same tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "h5_attributes.h"
#include "h5_handle.h"
#include "pixelmill/hdf5_io.h"
#include "pixelmill/run_writer.h"
#include "pixelmill/status.h"

namespace pm::h5 {

struct RunWriter::Impl {
  std::string path;
  RunAttributes attrs;
  std::string created;
  hsize_t dim = 0;
  hsize_t key_width = 1;
  std::int64_t staged = 0;
  std::int64_t rounds = 0;
  std::vector<std::int64_t> counts = std::vector<std::int64_t>(kStatusCodeCount, 0);
  std::vector<std::uint8_t> done;
  std::vector<std::int64_t> rows;
  std::vector<std::int64_t> first;
  // /detections (extract --detector): det_dim < 0 when the run has none. The same tables
  // as the image rows' (rows per split, where they start, the commit point).
  int det_dim = -1;
  std::int64_t det_staged = 0;
  std::vector<std::int64_t> det_rows;
  std::vector<std::int64_t> det_first;
  Handle file;
  Handle transfer;

  std::uint64_t splits() const { return done.size(); }
  bool detections() const { return det_dim >= 0; }

  void write_root_attributes(bool complete) const {
    std::int64_t n_done = 0;
    for (const std::uint8_t d : done) n_done += d;
    nlohmann::json cj;
    for (int c = 0; c < kStatusCodeCount; ++c)
      cj[std::string(status_name(static_cast<StatusCode>(c)))] = counts[static_cast<std::size_t>(c)];
    const hid_t f = file.get();
    write_attribute(f, "pixelmill_version", attrs.version);
    write_attribute(f, "command_line", attrs.command_line);
    write_attribute(f, "model_card", attrs.model_card_json);
    write_attribute(f, "model_card_sha256", attrs.model_card_sha256);
    write_attribute(f, "model_sha256", attrs.model_sha256);
    write_attribute(f, "parameters", attrs.parameters_json);
    write_attribute(f, "counts", cj.dump());
    write_attribute(f, "created_utc", created);
    write_attribute(f, "embedding_dim", static_cast<std::int64_t>(dim));
    write_attribute(f, "rows", staged);
    write_attribute(f, "complete", static_cast<std::int64_t>(complete ? 1 : 0));
    write_attribute(f, "plan_sha256", attrs.plan_sha256);
    write_attribute(f, "plan_ranks", attrs.plan_ranks);
    write_attribute(f, "splits", static_cast<std::int64_t>(splits()));
    write_attribute(f, "splits_done", n_done);
    write_attribute(f, "rounds", rounds);
    if (detections()) {
      write_attribute(f, "detection_dim", static_cast<std::int64_t>(det_dim));
      write_attribute(f, "staged_detections", det_staged);
    }
    // Last: the commit point of everything above (see run_writer.h).
    write_attribute(f, "staged_rows", staged);
  }
};


}  // namespace pm::h5
