#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace dpserve::engine {

std::string StreamDecoder::push(int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_to_piece(id);
  const size_t ready = utf8::complete_prefix_length(pending_);
  if (ready == 0) return {};
  std::string out = utf8::to_valid_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace dpserve::engine
