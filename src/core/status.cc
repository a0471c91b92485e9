#include "pixelmill/status.h"

namespace pm {

std::string_view status_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kEmpty: return "empty";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kUnsupported: return "unsupported";
    case StatusCode::kTooLarge: return "too_large";
    case StatusCode::kReadError: return "read_error";
    case StatusCode::kInferenceError: return "inference_error";
    case StatusCode::kMissing: return "missing";
  }
  return "unknown";
}

}  // namespace pm
