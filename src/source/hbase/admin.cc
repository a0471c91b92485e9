// Table operations over Thrift2 (HBASE-21650 admin calls, HBase 2.2+).
#include "admin.h"

#include <algorithm>

#include "key_range.h"

namespace pm {

using hbase::Session;
using hbase::with_retries;
namespace gen = hbase::gen;

namespace hbase {

void check_table(Session& s, const HBaseRetryOptions& r, const std::string& table,
                 const std::string& family) {
  const auto type = with_retries(s, r, "getThriftServerType",
                                 [](auto& c) { return c.getThriftServerType(); });
  if (type != gen::TThriftServerType::TWO)
    throw Error(s.url().str() + " is a Thrift1 server; start the Thrift2 one (hbase thrift2)");
  const auto tn = table_name(table);
  const bool exists = with_retries(s, r, "tableExists", [&](auto& c) { return c.tableExists(tn); });
  if (!exists) throw Error("HBase table '" + table + "' does not exist at " + s.url().str());
  if (family.empty()) return;
  gen::TTableDescriptor d;
  with_retries(s, r, "getTableDescriptor", [&](auto& c) { c.getTableDescriptor(d, tn); });
  std::string have;
  for (const auto& cf : d.columns) {
    if (cf.name == family) return;
    have += (have.empty() ? "" : ", ") + cf.name;
  }
  throw Error("HBase table '" + table + "' has no column family '" + family + "' (it has: " +
              have + ")");
}

}  // namespace hbase

bool hbase_table_exists(const HBaseUrl& url, const HBaseClientOptions& client) {
  Session s(url, client);
  const auto tn = hbase::table_name(url.table);
  return with_retries(s, {}, "tableExists", [&](auto& c) { return c.tableExists(tn); });
}

bool hbase_create_table_if_missing(const HBaseUrl& url, const std::vector<std::string>& families,
                                   std::vector<std::string> split_keys,
                                   const HBaseClientOptions& client) {
  if (families.empty()) throw Error("creating " + url.str() + ": no column family given");
  Session s(url, client);
  const HBaseRetryOptions r;
  const auto tn = hbase::table_name(url.table);
  if (with_retries(s, r, "tableExists", [&](auto& c) { return c.tableExists(tn); })) return false;
  std::sort(split_keys.begin(), split_keys.end());
  split_keys.erase(std::unique(split_keys.begin(), split_keys.end()), split_keys.end());
  if (!split_keys.empty() && split_keys.front().empty())
    throw Error("creating " + url.str() + ": an empty split key");
  gen::TTableDescriptor d;
  d.tableName = tn;
  std::vector<gen::TColumnFamilyDescriptor> cfs;
  for (const auto& f : families) {
    gen::TColumnFamilyDescriptor cf;
    cf.name = f;
    cf.__set_maxVersions(1);
    cfs.push_back(cf);
  }
  d.__set_columns(cfs);
  try {
    with_retries(s, r, "createTable", [&](auto& c) { c.createTable(d, split_keys); });
  } catch (const Error&) {
    // Another rank or process may have created it between the check and the call (the
    // server says TableExistsException, not retryable); that is success for us.
    if (with_retries(s, r, "tableExists", [&](auto& c) { return c.tableExists(tn); })) return false;
    throw;
  }
  return true;
}

void hbase_drop_table(const HBaseUrl& url, const HBaseClientOptions& client) {
  Session s(url, client);
  const HBaseRetryOptions r;
  const auto tn = hbase::table_name(url.table);
  if (!with_retries(s, r, "tableExists", [&](auto& c) { return c.tableExists(tn); })) return;
  if (with_retries(s, r, "isTableEnabled", [&](auto& c) { return c.isTableEnabled(tn); }))
    with_retries(s, r, "disableTable", [&](auto& c) { c.disableTable(tn); });
  with_retries(s, r, "deleteTable", [&](auto& c) { c.deleteTable(tn); });
}

}  // namespace pm

namespace pm {
void hbase_check_table_family(const HBaseUrl& url, const std::string& family,
                              const HBaseClientOptions& client) {
  hbase::Session s(url, client);
  hbase::check_table(s, {}, url.table, family);
}
}  // namespace pm
