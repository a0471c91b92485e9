#include "retry.h"

#include <thrift/TApplicationException.h>
#include <thrift/protocol/TProtocolException.h>
#include <thrift/transport/TTransportException.h>

namespace pm::hbase {

bool is_retryable(std::exception_ptr e, std::string* message) {
  try {
    std::rethrow_exception(e);
  } catch (const gen::TIOError& x) {
    *message = "TIOError: " + (x.__isset.message ? x.message : std::string("(no message)"));
    // Servers before HBASE-26025 do not send canRetry: assume transient.
    return !x.__isset.canRetry || x.canRetry;
  } catch (const gen::TIllegalArgument& x) {
    // "Invalid scanner Id": the scanner expired or the server restarted; reopen.
    *message = "TIllegalArgument: " + (x.__isset.message ? x.message : std::string());
    return true;
  } catch (const apache::thrift::transport::TTransportException& x) {
    *message = std::string("transport: ") + x.what();
    return true;
  } catch (const apache::thrift::protocol::TProtocolException& x) {
    *message = std::string("protocol: ") + x.what();
    return true;
  } catch (const apache::thrift::TApplicationException& x) {
    *message = std::string("application (is this a Thrift2 server?): ") + x.what();
    return false;
  } catch (const std::exception& x) {
    *message = x.what();
    return false;
  } catch (...) {
    *message = "unknown exception";
    return false;
  }
}

}  // namespace pm::hbase
