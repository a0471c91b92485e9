// Table checks shared by the source, the sinks and ingest.
#pragma once

#include <string>

#include "retry.h"

namespace pm::hbase {

// Throws pm::Error when the endpoint is not a Thrift2 server, the table does not exist, or
// it has no column family `family` (pass "" to check only the table).
void check_table(Session& s, const HBaseRetryOptions& r, const std::string& table,
                 const std::string& family);

}  // namespace pm::hbase
