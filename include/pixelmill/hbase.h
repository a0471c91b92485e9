// HBase over its Thrift2 gateway: the `hbase://HOST:PORT/TABLE` source, the write-back
// sink for embeddings, and the few table operations that `pixelmill ingest` and the tests
// need. Library pm_hbase (source, client, admin) and pm_hbase_sink (embedding writer).
// Setup errors (bad URL, missing table or column family, server not a Thrift2 server)
// throw pm::Error; transient failures are retried inside with backoff and a bounded budget.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pixelmill/dedup_rows.h"
#include "pixelmill/image_result.h"
#include "pixelmill/source.h"
#include "pixelmill/sources.h"
#include "pixelmill/tls_files.h"

namespace pm {

// hbase://HOST:PORT/TABLE[?key=value&...]; TABLE may carry a namespace ("ns:name"); PORT
// defaults to 9090. hbase+tls://... (or ?tls=1) is the same over TLS (see
// HBaseClientOptions::tls). Query keys (all optional, each at most once) set
// HBaseClientOptions and scan knobs: protocol=binary|compact,
// transport=buffered|framed|http, tls=0|1, pages=0|1, report_missing=0|1,
// splits_per_region=1..1024, rows_per_call=1..100000, timeout_ms=1..3600000. Anything else
// is refused with an error naming the option.
struct HBaseUrl {
  std::string host;
  int port = 9090;
  std::string table;
  std::string query;        // raw, without '?'
  bool tls = false;         // the hbase+tls:// scheme
  std::string str() const;  // hbase://HOST:PORT/TABLE or hbase+tls://... (without the query)
};
HBaseUrl parse_hbase_url(const std::string& url);  // throws pm::Error when malformed

// "family:qualifier" (the qualifier may be empty or hold ':'); throws when no family.
struct HBaseColumn {
  std::string family;
  std::string qualifier;
  std::string str() const { return family + ":" + qualifier; }
};
HBaseColumn parse_hbase_column(const std::string& spec);

// How one Thrift connection is made. Must match the server's flags: -c (compact) and -f
// (framed, also implied by -nonblocking/-hsha/-threadedselector); kHttp for a server in
// HTTP mode (hbase.regionserver.thrift.http=true; binary protocol only).
struct HBaseClientOptions {
  enum class Protocol { kBinary, kCompact };
  enum class Transport { kBuffered, kFramed, kHttp };
  Protocol protocol = Protocol::kBinary;
  Transport transport = Transport::kBuffered;
  // TLS 1.2 or later. The server's certificate must chain to tls_files.ca (the system trust
  // store when empty) and name the URL's host (a DNS name, or an IP address for an IP
  // host); a failed check is a pm::Error at once, never retried. tls_files.cert/key: a
  // client certificate, for servers that ask for one. HBase's Thrift server serves TLS only
  // in its HTTP mode, so the URL's TLS implies kHttp unless it names another transport
  // (a TLS proxy in front of a plain server).
  bool tls = false;
  TlsFiles tls_files;
  int connect_timeout_ms = 5000;
  int io_timeout_ms = 120000;  // per socket read/write; a scan call may read many rows
  // What one response may make the client allocate. A Thrift length field is whatever the
  // server says, and libthrift allocates it before the bytes arrive, so a broken or hostile
  // server could otherwise make each connection allocate ~2 GiB per string (or per list).
  //   max_message_bytes: all bytes of one response, counted as they arrive; larger -> a
  //     transport error (the scan reader then asks for fewer rows). Default 256 MiB, over
  //     the libthrift default of 100 MiB: one image cell may legitimately be tens of MB.
  //   max_string_bytes: one string or binary field (a cell value, a row key); larger -> a
  //     TProtocolException SIZE_LIMIT before any allocation.
  //   max_container_items: one list, map or set (rows per call, cells per row, regions).
  // The HBase source derives all three from HBaseSourceOptions::max_cell_bytes.
  std::int64_t max_message_bytes = 256LL << 20;
  std::int64_t max_frame_bytes = 256LL << 20;  // framed transport only
  std::int32_t max_string_bytes = 64 << 20;
  std::int32_t max_container_items = 1 << 20;
};

// Retry policy shared by reads and writes: exponential backoff from initial to max, at most
// `max_attempts` consecutive failures for one unit of work (a page of a scan, one chunk of
// puts); a success resets the count. The default rides out a Thrift server restart (~30 s).
struct HBaseRetryOptions {
  int max_attempts = 12;
  int backoff_initial_ms = 100;
  int backoff_max_ms = 5000;
};

struct HBaseSourceOptions {
  HBaseUrl url;
  HBaseColumn column{"f", "img"};  // the cell that holds the image bytes
  HBaseClientOptions client;
  HBaseRetryOptions retry;
  std::string start_row;          // inclusive, binary-safe; "" = from the first row
  std::string stop_row;           // exclusive; "" = to the last row
  std::int64_t since_ms = -1;     // cell timestamps in [since, until); -1 = open
  std::int64_t until_ms = -1;
  // Planning: one split per region (replica 0), clipped to [start_row, stop_row), then each
  // cut into `splits_per_region` key ranges; more splits balance better across ranks and
  // scanners at the cost of one scanner open each. min_splits raises the cut count so the
  // plan has at least that many splits (0 = no minimum).
  int splits_per_region = 4;
  int min_splits = 0;
  // Per call: at most rows_per_call rows, fewer when rows are large so that a response
  // stays near bytes_per_call (adapted to the largest row seen so far).
  int rows_per_call = 128;
  std::int64_t bytes_per_call = 32LL << 20;
  // Largest image cell accepted (extract's --max-bytes). A larger cell becomes a kTooLarge
  // record without its bytes. It also sizes what a response may make the client allocate
  // (HBaseClientOptions limits, set by make_hbase_source): a string limit of
  // max(max_cell_bytes, 1 MiB), a response limit of max(bytes_per_call, 2 strings) + 1 MiB.
  // In 1..2^31-1.
  std::int64_t max_cell_bytes = 64LL << 20;
  // Rows without the column are emitted as kMissing records. Costs the first cell of such
  // rows; off when a time range is given (a row outside the range is not "missing").
  bool report_missing = true;
  // true: stateless pages (getScannerResults; nothing lives on the server between calls).
  // false: one server-side scanner per split, reopened at lastRow+0x00 after a failure.
  bool stateless_pages = false;
  double max_read_mbps = 0;       // per Source (= per rank) across its reader threads; 0 = off
};

// The source for hbase://HOST:PORT/TABLE. plan() checks the table and the column family
// (pm::Error when either is missing). read_split() may run on several threads at once;
// each call opens its own connection.
std::unique_ptr<Source> make_hbase_source(const HBaseSourceOptions& options);
// Same, from the command-line spec and the pipeline's generic source options. The row
// range may hold binary bytes written as \xHH (and \\ for a backslash).
std::unique_ptr<Source> make_hbase_source_from_spec(const std::string& spec,
                                                    const SourceOptions& options);

// Command-line form of a binary row key: \xHH is one byte, \\ a backslash, \, a comma
// (for lists); anything else is literal. Throws pm::Error on a bad escape.
std::string hbase_unescape_key(const std::string& text);
// A row key for messages: printable ASCII as is, other bytes \xHH, cut after 64 characters.
std::string hbase_printable_key(const std::string& key);

// The connection options a URL sets (its scheme; protocol, transport, tls, timeout_ms), with
// `tls` for a TLS URL. The scan options a source URL may carry (pages, splits_per_region,
// rows_per_call, report_missing) are checked and ignored, so a writer can reuse the URL
// its rows were read from. Throws pm::Error on unknown keys and values out of range.
HBaseClientOptions hbase_client_options(const HBaseUrl& url, const TlsFiles& tls = {});

// --- table operations (ingest, tests) ---

// Creates url.table with the given column families when it does not exist. split_keys
// (binary-safe, need not be sorted) give split_keys.size()+1 regions. Returns true when
// created, false when it existed.
bool hbase_create_table_if_missing(const HBaseUrl& url, const std::vector<std::string>& families,
                                   std::vector<std::string> split_keys,
                                   const HBaseClientOptions& client = {});
bool hbase_table_exists(const HBaseUrl& url, const HBaseClientOptions& client = {});
// Throws pm::Error unless url.table exists and has column family `family`.
void hbase_check_table_family(const HBaseUrl& url, const std::string& family,
                              const HBaseClientOptions& client = {});
void hbase_drop_table(const HBaseUrl& url, const HBaseClientOptions& client = {});  // if it exists

struct HBaseCell {
  std::string row, family, qualifier, value;
};

// Buffers cells and writes them with putMultiple in chunks of at most max_rows_per_call
// puts and max_bytes_per_call bytes (one cell larger than that goes alone). Every cell
// carries the writer's timestamp, so a chunk retried after a failure rewrites the same
// versions: retries are idempotent. Not thread-safe; one per thread.
struct HBaseWriterOptions {
  HBaseUrl url;
  HBaseClientOptions client;
  HBaseRetryOptions retry;
  std::int64_t timestamp_ms = -1;  // -1 = the time the writer was created
  int max_rows_per_call = 1000;
  std::int64_t max_bytes_per_call = 8LL << 20;
};
class HBasePutWriter {
 public:
  explicit HBasePutWriter(const HBaseWriterOptions& options);
  ~HBasePutWriter();  // flushes; errors there are swallowed: call flush() to see them
  HBasePutWriter(const HBasePutWriter&) = delete;
  HBasePutWriter& operator=(const HBasePutWriter&) = delete;
  void add(HBaseCell cell);  // may flush a chunk
  void flush();              // throws pm::Error when a chunk fails past the retry budget
  void discard();            // drops the cells not yet written (a caller giving up on them)
  std::int64_t cells_written() const;
  std::int64_t bytes_written() const;
  std::int64_t timestamp_ms() const;
  ConnectionCounters connection_counters() const;  // retries and reconnects so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --- write-back of embeddings ---

// Cells written per result row (column = family:qualifier):
//   family:qualifier         the embedding, little-endian float32 (dim * 4 bytes); only ok rows
//   family:qualifier.header  "dtype=float32;dim=D;model_sha256=HEX;status=NAME" for every
//                            row (failed rows carry their status, no embedding)
struct HBaseEmbeddingWriterOptions {
  HBaseWriterOptions writer;
  HBaseColumn column{"f", "embedding"};
  std::string model_sha256;  // recorded in each header cell
  // extract --detector: the detector's class names. When set, every row whose image was
  // processed (status ok) also gets the cell family:qualifier.detections, the JSON text of
  // hbase_detections_cell (an empty list when nothing was found). Crop embeddings stay in
  // the HDF5 file.
  std::vector<std::string> detection_classes;
};

// The detections cell of a row: [{"box":[x0,y0,x1,y1],"score":s,"class":"name"}, ...],
// boxes in the image's full-size pixels, best score first (as /detections).
std::string hbase_detections_cell(const std::vector<ObjectResult>& objects, const std::vector<std::string>& classes);
std::string hbase_detections_qualifier(const std::string& qualifier);
class HBaseEmbeddingWriter {
 public:
  // Checks that the table and the column family exist (pm::Error otherwise).
  explicit HBaseEmbeddingWriter(const HBaseEmbeddingWriterOptions& options);
  ~HBaseEmbeddingWriter();
  void write(const std::vector<ImageResult>& rows);  // thread-safe; chunks as it goes
  void flush();
  std::int64_t rows_written() const;
  ConnectionCounters connection_counters() const;  // retries and reconnects so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --- write-back of dedup results ---

// Cells written for every row of a dedup run (column = family:prefix, default f:dedup), all
// with one timestamp per run, so a rerun replaces every cell of the previous answer:
//   family:prefix.group        key of the row's near-duplicate group id (its smallest
//                              member, /dedup/group); the row's own key when unique
//   family:prefix.exact_group  key of the smallest row with the same bytes (/dedup/exact_group)
//   family:prefix.score        best cosine to another row, decimal text "0.912345"; empty
//                              when no row is within the threshold
//   family:prefix.header       "threshold=T;group_row=G;exact_group_row=E;pairs=K" (row ids
//                              of the run's HDF5 file; K = near-duplicate pairs of the row)
struct HBaseDedupWriterOptions {
  HBaseWriterOptions writer;
  HBaseColumn column{"f", "dedup"};
  int rows_per_chunk = 250;  // rows per putMultiple (4 cells each)
};
class HBaseDedupWriter {
 public:
  // Checks that the table and the column family exist (pm::Error otherwise).
  explicit HBaseDedupWriter(const HBaseDedupWriterOptions& options);
  ~HBaseDedupWriter();
  HBaseDedupWriter(const HBaseDedupWriter&) = delete;
  HBaseDedupWriter& operator=(const HBaseDedupWriter&) = delete;
  // Writes and flushes every row. A chunk that fails past the retry budget throws pm::Error
  // naming its rows (file row ids and keys) and the table. Not thread-safe.
  // Rows in `rows.regrouped_key` (older rows whose group the run changed) get their group
  // cell rewritten; their other cells are left as they are.
  void write(const DedupRows& rows);
  std::int64_t rows_written() const;
  std::int64_t regrouped_written() const;  // older rows whose group cell was rewritten

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
// Qualifier of one dedup field ("group", "exact_group", "score", "header") under `prefix`.
std::string hbase_dedup_qualifier(const std::string& prefix, const std::string& field);

// Header cell qualifier for a given embedding qualifier, and its parsed form (for readers).
std::string hbase_embedding_header_qualifier(const std::string& qualifier);
std::string hbase_embedding_header(std::size_t dim, const std::string& model_sha256,
                                   const std::string& status_name);
std::string hbase_encode_embedding(const std::vector<float>& v);   // little-endian float32
std::vector<float> hbase_decode_embedding(const std::string& bytes);  // throws on bad length

}  // namespace pm
