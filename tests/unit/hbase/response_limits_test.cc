// What a broken or hostile server can make one connection allocate: lengths it claims in
// a reply are refused before libthrift allocates them, and the bytes of one reply are
// bounded. The server here lies on purpose (fake_server.h).
#include <gtest/gtest.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TBufferTransports.h>

#include <chrono>

#include "connection.h"
#include "fake_server.h"
#include "pixelmill/error.h"
#include "response_budget.h"
#include "scan_limits.h"

namespace pm::hbase {
namespace {

namespace tp = apache::thrift::protocol;
namespace tt = apache::thrift::transport;
using testing::FakeServer;

// A getScannerRows reply, written by `body` after the message header and up to the list
// header (element type struct, `items` elements claimed).
template <class Body>
std::string reply(std::int32_t items, Body&& body) {
  auto buf = std::make_shared<tt::TMemoryBuffer>();
  tp::TBinaryProtocol p(buf);
  p.writeMessageBegin("getScannerRows", apache::thrift::protocol::T_REPLY, 0);
  p.writeStructBegin("result");
  p.writeFieldBegin("success", tp::T_LIST, 0);
  p.writeListBegin(tp::T_STRUCT, static_cast<std::uint32_t>(items));
  body(p);
  return buf->getBufferAsString();
}

// `n` well-formed rows whose keys are `key_bytes` long, and the rest of the message.
std::string rows_reply(int n, std::size_t key_bytes) {
  return reply(n, [&](tp::TBinaryProtocol& p) {
    for (int i = 0; i < n; ++i) {
      gen::TResult r;
      r.__set_row(std::string(key_bytes, static_cast<char>('a' + i % 26)));
      r.write(&p);
    }
    p.writeListEnd();
    p.writeFieldEnd();
    p.writeFieldStop();
    p.writeStructEnd();
    p.writeMessageEnd();
  });
}

HBaseClientOptions quick() {
  HBaseClientOptions o;
  o.connect_timeout_ms = 2000;
  o.io_timeout_ms = 5000;
  return o;
}

TEST(ResponseLimits, AClaimedHugeStringIsRefusedBeforeItIsAllocated) {
  // One row whose key claims 1 GiB; only a few bytes follow. Without a string limit
  // libthrift sizes a std::string to the claim, then waits for bytes that never come.
  FakeServer server(reply(1, [](tp::TBinaryProtocol& p) {
    p.writeStructBegin("TResult");
    p.writeFieldBegin("row", tp::T_STRING, 1);
    p.writeI32(1 << 30);
    p.writeByte('x');
  }));
  Connection c("127.0.0.1", server.port(), quick());
  std::vector<gen::TResult> rows;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    c.client().getScannerRows(rows, 1, 10);
    FAIL() << "a 1 GiB string was accepted";
  } catch (const tp::TProtocolException& e) {
    EXPECT_EQ(e.getType(), tp::TProtocolException::SIZE_LIMIT) << e.what();
  }
  // Refused on the length field, not after the read timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST(ResponseLimits, AClaimedHugeListIsRefused) {
  // Two million rows claimed: libthrift would construct them all up front (~0.4 GB).
  FakeServer server(reply(2'000'000, [](tp::TBinaryProtocol&) {}));
  Connection c("127.0.0.1", server.port(), quick());
  std::vector<gen::TResult> rows;
  try {
    c.client().getScannerRows(rows, 1, 10);
    FAIL() << "a list of two million rows was accepted";
  } catch (const tp::TProtocolException& e) {
    EXPECT_EQ(e.getType(), tp::TProtocolException::SIZE_LIMIT) << e.what();
  }
}

TEST(ResponseLimits, TheBytesOfOneReplyAreBounded) {
  // 24 rows of 512 KiB keys, each under the string limit, 12 MiB in all.
  FakeServer server(rows_reply(24, 512 << 10));
  HBaseClientOptions o = quick();
  o.max_message_bytes = 4 << 20;
  Connection c("127.0.0.1", server.port(), o);
  std::vector<gen::TResult> rows;
  try {
    c.client().getScannerRows(rows, 1, 24);
    FAIL() << "a 12 MiB reply was accepted under a 4 MiB limit";
  } catch (const ResponseTooLarge& e) {
    EXPECT_NE(std::string(e.what()).find("4194304 bytes"), std::string::npos) << e.what();
  }
}

TEST(ResponseLimits, EachReplyGetsTheWholeBudget) {
  // Three replies of ~3 MiB on one connection under a 4 MiB limit: the count restarts with
  // each request, and well-formed replies within the limits read as before.
  FakeServer server(rows_reply(6, 512 << 10));
  HBaseClientOptions o = quick();
  o.max_message_bytes = 4 << 20;
  Connection c("127.0.0.1", server.port(), o);
  for (int call = 0; call < 3; ++call) {
    std::vector<gen::TResult> rows;
    c.client().getScannerRows(rows, 1, 6);
    ASSERT_EQ(rows.size(), 6u);
    EXPECT_EQ(rows[5].row, std::string(512 << 10, 'f'));
  }
  EXPECT_EQ(server.requests(), 3);
}

TEST(ResponseLimits, ScanLimitsFollowMaxCellBytes) {
  HBaseSourceOptions o;
  o.max_cell_bytes = 64LL << 20;  // extract's default --max-bytes
  o.bytes_per_call = 32LL << 20;
  set_scan_limits(o);
  EXPECT_EQ(o.client.max_string_bytes, 64 << 20);
  EXPECT_EQ(o.client.max_message_bytes, (128LL << 20) + (1 << 20));
  EXPECT_EQ(o.client.max_frame_bytes, o.client.max_message_bytes);
  EXPECT_EQ(first_call_rows(o.client, 8), 1);  // two 64 MiB cells fill the limit
  // Small images: row keys and messages still fit the string limit; many rows per call.
  o.max_cell_bytes = 100000;
  set_scan_limits(o);
  EXPECT_EQ(o.client.max_string_bytes, 1 << 20);
  EXPECT_EQ(o.client.max_message_bytes, (33LL << 20));
  EXPECT_EQ(first_call_rows(o.client, 8), 8);
  // Huge --max-bytes: the string limit stays a valid int32 length.
  o.max_cell_bytes = 5LL << 30;
  set_scan_limits(o);
  EXPECT_EQ(o.client.max_string_bytes, 0x7fffffff);
}

TEST(ResponseLimits, TheSourceRefusesAnUnboundedCellLimit) {
  HBaseSourceOptions o;
  o.url = parse_hbase_url("hbase://h:1/t");
  o.max_cell_bytes = 0;
  EXPECT_THROW(make_hbase_source(o), Error);
  o.max_cell_bytes = 1LL << 31;
  EXPECT_THROW(make_hbase_source(o), Error);
  o.max_cell_bytes = 1;
  EXPECT_NO_THROW(make_hbase_source(o));
}

}  // namespace
}  // namespace pm::hbase
