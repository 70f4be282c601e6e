// Validation of a Batch against a model and KV storage before any memory is touched, shared by all
// architectures: a malformed request must fail with an exception, never corrupt KV or crash.
#pragma once

#include "engine/forward.h"

#include <span>

namespace dpserve::engine {

// Throws std::invalid_argument describing the first problem: token id out of range, empty
// sequence, too few slots, slot out of range, KV widths or layer count that do not match the
// model, logits of the wrong size. Returns the total number of new tokens.
int64_t validate_batch(const Batch& batch, const ModelInfo& info, const KvStorage& kv,
                       std::span<const float> logits);

}  // namespace dpserve::engine
