#include "connection.h"

#include <thrift/TConfiguration.h>
#include <thrift/TOutput.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TCompactProtocol.h>
#include <thrift/transport/TBufferTransports.h>
#include <thrift/transport/THttpClient.h>
#include <thrift/transport/TSSLSocket.h>
#include <thrift/transport/TSocket.h>

#include <algorithm>
#include <limits>
#include <mutex>

#include "pixelmill/error.h"
#include "response_budget.h"
#include "tls.h"

namespace pm::hbase {

namespace tt = apache::thrift::transport;
namespace tp = apache::thrift::protocol;

namespace {
int clamp_int(std::int64_t v) {
  return static_cast<int>(std::clamp<std::int64_t>(v, 1 << 20, std::numeric_limits<int>::max()));
}
void quiet(const char*) {}
}  // namespace

Connection::Connection(const std::string& host, int port, const HBaseClientOptions& o,
                       TlsContext* tls) {
  // libthrift prints every failed connect to stderr; our errors carry the same text and
  // are reported once by whoever gives up, so silence its global logger.
  static std::once_flag once;
  std::call_once(once, [] { apache::thrift::GlobalOutput.setOutputFunction(quiet); });
  // One configuration for socket and transport: libthrift checks the message budget on the
  // transport that reads, so both must carry the raised limits.
  auto cfg = std::make_shared<apache::thrift::TConfiguration>(clamp_int(o.max_message_bytes),
                                                              clamp_int(o.max_frame_bytes));
  std::shared_ptr<tt::TSocket> socket;
  std::shared_ptr<tt::TSSLSocket> tls_socket;
  if (o.tls) {
    PM_CHECK(tls != nullptr, "a TLS connection without its TLS context");
    tls_socket = tls->socket(port);
    socket = tls_socket;
  } else {
    socket = std::make_shared<tt::TSocket>(host, port, cfg);
  }
  socket->setConnTimeout(o.connect_timeout_ms);
  socket->setRecvTimeout(o.io_timeout_ms);
  socket->setSendTimeout(o.io_timeout_ms);
  socket->setNoDelay(true);
  // Every byte read passes the budget, whatever the transport above does with it.
  auto wire = std::make_shared<ResponseBudget>(socket, o.max_message_bytes);
  switch (o.transport) {
    case HBaseClientOptions::Transport::kFramed:
      transport_ = std::make_shared<tt::TFramedTransport>(wire, cfg);
      break;
    case HBaseClientOptions::Transport::kHttp:
      // HBase's servlet answers on every path; the Host header carries the URL's host.
      transport_ = std::make_shared<tt::THttpClient>(wire, host, "/", cfg);
      break;
    case HBaseClientOptions::Transport::kBuffered:
      transport_ = std::make_shared<tt::TBufferedTransport>(wire, 64 * 1024, 64 * 1024, cfg);
      break;
  }
  // String and container limits: checked on the length field, before libthrift allocates.
  std::shared_ptr<tp::TProtocol> protocol;
  if (o.protocol == HBaseClientOptions::Protocol::kCompact)
    protocol = std::make_shared<tp::TCompactProtocol>(transport_, o.max_string_bytes,
                                                      o.max_container_items);
  else
    protocol = std::make_shared<tp::TBinaryProtocol>(transport_, o.max_string_bytes,
                                                     o.max_container_items, false, true);
  transport_->open();
  if (tls_socket) tls->handshake(*tls_socket, port);
  client_ = std::make_unique<gen::THBaseServiceClient>(protocol);
}

Connection::~Connection() {
  try {
    if (transport_) transport_->close();
  } catch (...) {
    // Closing a broken socket may throw; nothing to do about it here.
  }
}

gen::TTableName table_name(const std::string& table) {
  gen::TTableName t;
  const auto colon = table.find(':');
  if (colon == std::string::npos) {
    t.qualifier = table;
  } else {
    t.__set_ns(table.substr(0, colon));
    t.qualifier = table.substr(colon + 1);
  }
  return t;
}

}  // namespace pm::hbase
