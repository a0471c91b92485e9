// Retrying Thrift calls: which failures are transient, exponential backoff with a bounded
// budget, and a lazily (re)connecting session so that a retry always runs on a fresh
// connection (a Thrift connection is unusable after any transport error).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <thread>

#include "connection.h"
#include "pixelmill/error.h"
#include "pixelmill/hbase.h"
#include "tls.h"

namespace pm::hbase {

// Is this (current) exception worth a retry on a new connection? Sets *message to a
// one-line description. Transport and protocol errors, unknown scanner ids and TIOError
// with canRetry (or without the flag) are; TIOError with canRetry=false (table not found,
// read-only server), TApplicationException (wrong service) and everything else are not.
bool is_retryable(std::exception_ptr e, std::string* message);

class Backoff {
 public:
  explicit Backoff(const HBaseRetryOptions& o) : o_(o), delay_ms_(o.backoff_initial_ms) {}
  // Counts one failure; sleeps and returns true while the budget lasts, false when spent.
  bool wait() {
    if (++failures_ >= o_.max_attempts) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    delay_ms_ = std::min(delay_ms_ * 2, o_.backoff_max_ms);
    return true;
  }
  void reset() {
    failures_ = 0;
    delay_ms_ = o_.backoff_initial_ms;
  }
  int failures() const { return failures_; }

 private:
  HBaseRetryOptions o_;
  int failures_ = 0;
  int delay_ms_;
};

// Failures recovered from, shared by the sessions of one source or writer and read live
// (the progress line) while they run: a Thrift server restart shows up in a run's log.
struct TransportCounters {
  std::atomic<std::int64_t> retries{0};     // failed calls tried again after a backoff
  std::atomic<std::int64_t> reconnects{0};  // connections made again after a failure
};

// A connection made on first use and dropped after a failure.
class Session {
 public:
  // `counters` (may be null) must outlive the session.
  Session(HBaseUrl url, HBaseClientOptions options, TransportCounters* counters = nullptr)
      : url_(std::move(url)), options_(std::move(options)), counters_(counters) {}
  gen::THBaseServiceClient& client() {
    if (!conn_) {
      // One TLS context for the session: its files are read once, not per reconnect.
      if (options_.tls && !tls_) tls_ = std::make_unique<TlsContext>(url_.host, options_.tls_files);
      conn_ = std::make_unique<Connection>(url_.host, url_.port, options_, tls_.get());
      ++connects_;
      if (failed_ && counters_) counters_->reconnects.fetch_add(1, std::memory_order_relaxed);
      failed_ = false;
    }
    return conn_->client();
  }
  // After a failure: the connection is unusable; the next one counts as a reconnect.
  void reset() {
    conn_.reset();
    failed_ = true;
  }
  // Not a failure (a reply refused for its size): only this connection must go.
  void drop() { conn_.reset(); }
  // One failed call about to be tried again.
  void count_retry() {
    if (counters_) counters_->retries.fetch_add(1, std::memory_order_relaxed);
  }
  const HBaseUrl& url() const { return url_; }
  std::uint64_t connects() const { return connects_; }

 private:
  HBaseUrl url_;
  HBaseClientOptions options_;
  TransportCounters* counters_;
  std::unique_ptr<TlsContext> tls_;  // before conn_, which uses it
  std::unique_ptr<Connection> conn_;
  std::uint64_t connects_ = 0;
  bool failed_ = false;
};

// Runs f(client) until it succeeds; on a retryable failure drops the connection, backs off
// and tries again; otherwise (or when the budget is spent) throws pm::Error naming `what`.
template <class F>
auto with_retries(Session& s, const HBaseRetryOptions& r, const std::string& what, F&& f)
    -> decltype(f(s.client())) {
  Backoff backoff(r);
  for (;;) {
    try {
      return f(s.client());
    } catch (...) {
      std::string msg;
      const bool retry = is_retryable(std::current_exception(), &msg);
      s.reset();
      if (!retry) throw Error(what + " on " + s.url().str() + ": " + msg);
      if (!backoff.wait())
        throw Error(what + " on " + s.url().str() + ": gave up after " +
                    std::to_string(backoff.failures()) + " attempts: " + msg);
      s.count_retry();
    }
  }
}

}  // namespace pm::hbase
