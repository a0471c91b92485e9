// --tls-ca, --tls-cert and --tls-key: the same three flags on every command that takes an
// HBase URL (hbase+tls:// or ?tls=1 connects over HTTPS and verifies the server).
#pragma once

#include <string>
#include <vector>

#include "cli.h"
#include "pixelmill/tls_files.h"

namespace pm::app {

void add_tls_flags(po::options_description& desc, TlsFiles& tls);

// Before any work: a client certificate needs its key (and the reverse), each file given
// must be readable, and when `urls` (the command's HBase URLs, as given) are all known
// and none is a TLS one, the flags are refused rather than silently unused (a plain URL
// where TLS was meant).
void check_tls_flags(const TlsFiles& tls, const std::vector<std::string>& urls,
                     bool urls_complete = true);

// hbase+tls://... or hbase://...?...tls=1...
bool is_tls_url(const std::string& url);

}  // namespace pm::app
