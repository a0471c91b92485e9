// `pixelmill ingest`: loads a directory (or a list) of image files into an HBase table,
// one row per file, the bytes in one cell. Rank 0 lists the files and creates the table;
// the sorted list is cut into one contiguous block per rank; each rank writes its block
// with chunked putMultiple (bounded rows and bytes per call, explicit timestamps so that a
// retried chunk is idempotent).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "commands.h"
#include "pixelmill/agreed.h"
#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "tls_flags.h"

namespace pm::app {

namespace {

namespace fs = std::filesystem;

// Sorted relative paths of the regular files under `root` (dir:) or named in a list file.
std::vector<std::string> list_inputs(const std::string& spec, std::string* root) {
  std::vector<std::string> out;
  if (spec.rfind("dir:", 0) == 0) {
    *root = spec.substr(4);
    std::error_code ec;
    if (!fs::is_directory(*root, ec)) throw Error("--input " + spec + ": not a directory");
    for (auto it = fs::recursive_directory_iterator(*root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) throw Error("--input " + spec + ": " + ec.message());
      if (it->is_regular_file(ec)) out.push_back(fs::relative(it->path(), *root).generic_string());
    }
  } else if (spec.rfind("list:", 0) == 0) {
    root->clear();
    std::ifstream in(spec.substr(5));
    if (!in) throw Error("--input " + spec + ": cannot open the list");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
  } else {
    throw Error("--input must be dir:PATH or list:FILE, not '" + spec + "'");
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Row key from --key-format: {path} relative path, {name} file name, {stem} name without
// extension, {ext} extension without the dot; anything else is literal.
std::string make_key(const std::string& format, const std::string& rel) {
  const fs::path p(rel);
  std::string ext = p.extension().string();
  if (!ext.empty()) ext.erase(0, 1);
  std::string out;
  for (std::size_t i = 0; i < format.size();) {
    if (format[i] == '{') {
      const auto close = format.find('}', i);
      if (close == std::string::npos) throw Error("--key-format: unclosed '{'");
      const std::string name = format.substr(i + 1, close - i - 1);
      if (name == "path") out += rel;
      else if (name == "name") out += p.filename().string();
      else if (name == "stem") out += p.stem().string();
      else if (name == "ext") out += ext;
      else throw Error("--key-format: unknown field {" + name + "} (path, name, stem, ext)");
      i = close + 1;
    } else {
      out.push_back(format[i++]);
    }
  }
  if (out.empty()) throw Error("--key-format gives an empty row key for " + rel);
  return out;
}

// Comma-separated split keys, each unescaped by hbase_unescape_key (\xHH, \\, \,).
std::vector<std::string> parse_split_keys(const std::string& s) {
  std::vector<std::string> keys;
  std::string cur;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      cur.push_back(s[i]);
      cur.push_back(s[++i]);
    } else if (s[i] == ',') {
      if (!cur.empty()) keys.push_back(hbase_unescape_key(cur));
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  if (!cur.empty()) keys.push_back(hbase_unescape_key(cur));
  return keys;
}

}  // namespace

int cmd_ingest(const Args& args, const Comm& comm) {
  std::string input, output, column, key_format, split_keys;
  int regions = 0, batch_rows = 0;
  std::int64_t batch_bytes = 0, max_bytes = 0, timestamp = -1;
  bool quiet = false;
  po::options_description desc("ingest options");
  desc.add_options()
      ("input,i", po::value(&input)->required(), "dir:PATH (recursive) or list:FILE")
      ("output,o", po::value(&output)->required(),
       "hbase://HOST:PORT/TABLE (hbase+tls:// over HTTPS, see --tls-ca)")
      ("column,c", po::value(&column)->default_value("f:img"), "family:qualifier for the bytes")
      ("key-format", po::value(&key_format)->default_value("{path}"),
       "row key: {path} (relative path), {name}, {stem}, {ext} and literal text")
      ("split-keys", po::value(&split_keys)->default_value(""),
       "when the table is created: comma-separated split keys (\\xHH escapes)")
      ("regions", po::value(&regions)->default_value(0),
       "when the table is created without --split-keys: this many regions, split at "
       "quantiles of the row keys (0 = one region)")
      ("batch-rows", po::value(&batch_rows)->default_value(256), "rows per putMultiple call")
      ("batch-bytes", po::value(&batch_bytes)->default_value(8LL << 20),
       "bytes per putMultiple call (a larger file goes alone)")
      ("max-bytes", po::value(&max_bytes)->default_value(10LL << 20),
       "larger files are skipped and listed (HBase refuses cells over "
       "hbase.client.keyvalue.maxsize, 10 MiB by default)")
      ("timestamp", po::value(&timestamp)->default_value(-1),
       "cell timestamp in ms (-1 = now); a rerun with the same value rewrites the same versions")
      ("quiet,q", po::bool_switch(&quiet), "no summary");
  TlsFiles tls;
  add_tls_flags(desc, tls);
  auto vm = parse_command(comm, "ingest",
                          "--input dir:PATH --output hbase://HOST:PORT/TABLE [options]", desc, args);
  if (!vm) return 0;
  HBaseUrl url;
  HBaseColumn col;
  HBaseClientOptions client;
  agreed(comm, "", [&] {
    check_tls_flags(tls, {output});
    url = parse_hbase_url(output);
    client = hbase_client_options(url, tls);
    col = parse_hbase_column(column);
    if (col.qualifier.empty()) throw Error("--column needs a qualifier (family:qualifier)");
    if (batch_rows < 1 || batch_bytes < 1) throw Error("--batch-rows and --batch-bytes must be positive");
    if (max_bytes < 1) throw Error("--max-bytes must be positive");
    if (regions < 0) throw Error("--regions cannot be negative");
    if (timestamp < -1) throw Error("--timestamp must be -1 (now) or a time in ms");
  });
  const auto t0 = std::chrono::steady_clock::now();

  // Rank 0 lists, creates the table and broadcasts the list (one view of the directory).
  std::string root;
  std::vector<std::string> files;
  const std::string listing = agreed_on_root(comm, "ingest", [&] {
    files = list_inputs(input, &root);
    if (timestamp < 0)
      timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::vector<std::string> keys = parse_split_keys(split_keys);
    if (keys.empty() && regions > 1 && !files.empty()) {
      std::vector<std::string> all;
      for (const auto& f : files) all.push_back(make_key(key_format, f));
      std::sort(all.begin(), all.end());
      for (int r = 1; r < regions; ++r) keys.push_back(all[all.size() * r / regions]);
    }
    const bool created = hbase_create_table_if_missing(url, {col.family}, keys, client);
    if (!created) hbase_check_table_family(url, col.family, client);
    else if (!quiet)
      std::printf("ingest: created %s with %zu regions\n", url.str().c_str(), keys.size() + 1);
    std::ostringstream s;
    s << timestamp << '\0' << root << '\0';
    for (const auto& f : files) s << f << '\0';
    return s.str();
  });
  if (comm.rank() != 0) {
    std::vector<std::string> parts;
    std::size_t pos = 0;
    for (std::size_t end; (end = listing.find('\0', pos)) != std::string::npos; pos = end + 1)
      parts.push_back(listing.substr(pos, end - pos));
    timestamp = std::stoll(parts.at(0));
    root = parts.at(1);
    files.assign(parts.begin() + 2, parts.end());
  }

  // This rank's contiguous block of the sorted list.
  const auto n = static_cast<std::int64_t>(files.size());
  const std::int64_t lo = n * comm.rank() / comm.size();
  const std::int64_t hi = n * (comm.rank() + 1) / comm.size();
  std::int64_t rows = 0, bytes = 0, skipped = 0, unreadable = 0;
  agreed(comm, "ingest", [&] {
    HBaseWriterOptions wo;
    wo.url = url;
    wo.client = client;
    wo.timestamp_ms = timestamp;
    wo.max_rows_per_call = batch_rows;
    wo.max_bytes_per_call = batch_bytes;
    HBasePutWriter writer(wo);
    for (std::int64_t i = lo; i < hi; ++i) {
      const std::string& rel = files[i];
      const fs::path path = root.empty() ? fs::path(rel) : fs::path(root) / rel;
      std::error_code ec;
      const auto size = fs::file_size(path, ec);
      if (ec) {
        std::fprintf(stderr, "ingest: cannot read %s: %s\n", path.c_str(), ec.message().c_str());
        ++unreadable;
        continue;
      }
      if (static_cast<std::int64_t>(size) > max_bytes) {
        std::fprintf(stderr, "ingest: skipped %s: %ju bytes > --max-bytes\n", path.c_str(),
                     static_cast<std::uintmax_t>(size));
        ++skipped;
        continue;
      }
      std::ifstream in(path, std::ios::binary);
      std::string data(size, '\0');
      if (!in || !in.read(data.data(), static_cast<std::streamsize>(size))) {
        std::fprintf(stderr, "ingest: cannot read %s\n", path.c_str());
        ++unreadable;
        continue;
      }
      bytes += static_cast<std::int64_t>(size);
      writer.add({make_key(key_format, rel), col.family, col.qualifier, std::move(data)});
      ++rows;
    }
    writer.flush();
  });
  rows = comm.allreduce_sum(rows);
  bytes = comm.allreduce_sum(bytes);
  skipped = comm.allreduce_sum(skipped);
  unreadable = comm.allreduce_sum(unreadable);
  if (comm.rank() == 0 && !quiet) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("ingest: %lld rows, %.1f MB into %s column %s in %.1f s (%.1f MB/s); "
                "%lld skipped (too large), %lld unreadable; timestamp %lld\n",
                static_cast<long long>(rows), bytes / 1e6, url.str().c_str(), col.str().c_str(), s,
                s > 0 ? bytes / 1e6 / s : 0.0, static_cast<long long>(skipped),
                static_cast<long long>(unreadable), static_cast<long long>(timestamp));
  }
  return unreadable > 0 ? 1 : 0;
}

}  // namespace pm::app
