#include "extract_job.h"

#include "mpi_rank_links.h"
#include "rank_stages.h"

namespace pm::pipeline {

RankOutcome run_rank_with(const RankParts& parts, Source& source,
                          const std::vector<SplitSpec>& splits, const ModelCard& card,
                          const JobConfig& config, RankStats& stats) {
  RankStages stages(source, card, config, parts.make_embedder, stats);
  stages.start(parts.spawn);
  return RankLoop(parts.links, source, config, stats, parts.timing).run(stages, splits);
}

RankOutcome run_rank(const Comm& comm, Source& source, const std::vector<SplitSpec>& splits,
                     std::shared_ptr<const engine::Model> model, const ModelCard& card,
                     const JobConfig& config, RankStats& stats) {
  MpiRankLinks links(comm, config.quiet, config.total_hint);
  const RankParts parts{.links = links.links(),
                        .make_embedder = engine_embedder(std::move(model), config.threads.compute),
                        .spawn = spawn_thread,
                        .timing = LoopTiming{}};
  return run_rank_with(parts, source, splits, card, config, stats);
}

}  // namespace pm::pipeline
