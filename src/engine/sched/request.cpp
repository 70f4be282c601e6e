#include "engine/sched/request.h"

namespace dpserve::engine {

const char* FinishReason::type() const {
  switch (kind) {
    case FinishKind::kStop:
      return "stop";
    case FinishKind::kLength:
      return "length";
    case FinishKind::kAbort:
    case FinishKind::kError:
      return "abort";
  }
  return "abort";
}

}  // namespace dpserve::engine
