// `pixelmill report`: the run's duplicate groups as one self-contained HTML page.
// Not collective work: rank 0 writes the page, the other ranks only wait.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "pixelmill/agreed.h"
#include "pixelmill/dedup.h"
#include "pixelmill/error.h"

namespace pm::app {

int cmd_report(const Args& args, const Comm& comm) {
  ReportOptions o;
  po::options_description desc("report options");
  desc.add_options()
      ("input,i", po::value(&o.input)->required(), "the run's HDF5 file, after dedup")
      ("out,o", po::value(&o.output)->required(), "the HTML file to write")
      ("image-root", po::value(&o.image_root)->default_value(""),
       "directory the keys are relative to (default: the run's dir: input)")
      ("max-groups", po::value(&o.max_groups)->default_value(o.max_groups),
       "groups shown, largest first (0 or more)")
      ("max-members", po::value(&o.max_members)->default_value(o.max_members),
       "thumbnails per group (0 or more)")
      ("thumb", po::value(&o.thumb_px)->default_value(o.thumb_px), "thumbnail size in pixels (16..1024)");
  auto vm = parse_command(comm, "report", "--input RUN.h5 --out report.html", desc, args, {"input"});
  if (!vm) return 0;
  agreed(comm, "", [&] { check_report_options(o); });
  // A failure on rank 0 must not leave the other ranks waiting: agree on the outcome.
  ReportSummary s;
  agreed_on_root(comm, "", [&] {
    s = write_report(o);
    return std::string();
  });
  if (comm.rank() == 0)
    std::printf("pixelmill report: %s (%lld of %lld groups, %lld thumbnails, %lld images not found, "
                "%lld object boxes drawn, %lld object groups, %lld image pairs sharing an object)\n",
                o.output.c_str(), static_cast<long long>(s.groups_shown), static_cast<long long>(s.groups),
                static_cast<long long>(s.thumbnails), static_cast<long long>(s.missing_images),
                static_cast<long long>(s.boxes), static_cast<long long>(s.object_groups_shown),
                static_cast<long long>(s.crop_pairs_shown));
  return 0;
}

}  // namespace pm::app
