#include "pixelmill/sources.h"

#include "files/file_source.h"
#include "synthetic/synthetic_source.h"
#include "pixelmill/error.h"

#ifdef PM_HAVE_HBASE
#include "pixelmill/hbase.h"
#endif

namespace pm {

std::unique_ptr<Source> open_source(const std::string& spec, const SourceOptions& o) {
  auto starts = [&](const char* p) { return spec.rfind(p, 0) == 0; };
  if (starts("dir:"))
    return source::make_file_source(source::FileSpecKind::kDir, spec.substr(4), o.split_records, o.ranks,
                                    o.max_record_bytes);
  if (starts("list:"))
    return source::make_file_source(source::FileSpecKind::kList, spec.substr(5), o.split_records, o.ranks,
                                    o.max_record_bytes);
  if (starts("synthetic:")) return source::make_synthetic_source(spec.substr(10));
  if (is_hbase_url(spec)) {
#ifdef PM_HAVE_HBASE
    return make_hbase_source_from_spec(spec, o);
#else
    throw Error("this pixelmill was built without HBase support: " + spec);
#endif
  }
  throw Error("unknown input '" + spec + "': use dir:PATH, list:FILE, hbase://HOST:PORT/TABLE or synthetic:N");
}

}  // namespace pm
