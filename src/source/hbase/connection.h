// One Thrift2 connection to an HBase Thrift server: socket (plain or TLS) + transport
// (buffered, framed or HTTP) + protocol + client, owned together, closed in the
// destructor. Not thread-safe: one per thread (or per split).
#pragma once

#include <memory>
#include <string>

#include "THBaseService.h"  // generated from thrift/hbase2.thrift; keep first (see HBASE.md 1.7)
#include "pixelmill/hbase.h"

namespace apache::thrift::transport {
class TTransport;
}

namespace pm::hbase {

class TlsContext;

class Connection {
 public:
  // Connects (and for TLS completes the handshake); throws
  // apache::thrift::transport::TTransportException when it cannot, TlsError when the
  // server's certificate is refused. `tls` is required when options.tls is set, and must
  // outlive the connection.
  Connection(const std::string& host, int port, const HBaseClientOptions& options,
             TlsContext* tls = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  gen::THBaseServiceClient& client() { return *client_; }

 private:
  std::shared_ptr<apache::thrift::transport::TTransport> transport_;
  std::unique_ptr<gen::THBaseServiceClient> client_;
};

// The binary table name as the Thrift calls take it ("ns:name" or "name"), and the
// TTableName form the admin calls take.
gen::TTableName table_name(const std::string& table);

}  // namespace pm::hbase
