// HBase URLs and their options, row-key escapes and column specs, from the command line:
// line 1 a URL, line 2 a row key, line 3 a column.
#include "fuzz_target.h"
#include "pixelmill/error.h"
#include "pixelmill/hbase.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string lines[3];
  std::size_t k = 0;
  for (const char c : pm::fuzz::bytes(data, size)) {
    if (c == '\n' && k < 2) ++k;
    else lines[k].push_back(c);
  }
  try {
    const pm::HBaseUrl u = pm::parse_hbase_url(lines[0]);
    if (u.host.empty() || u.table.empty() || u.port <= 0 || u.port > 65535) __builtin_trap();
    (void)pm::hbase_client_options(u);
  } catch (const pm::Error&) {
  }
  try {
    (void)pm::hbase_unescape_key(lines[1]);
  } catch (const pm::Error&) {
  }
  try {
    const pm::HBaseColumn c = pm::parse_hbase_column(lines[2]);
    if (c.family.empty()) __builtin_trap();
  } catch (const pm::Error&) {
  }
  return 0;
}
