#include "engine/api/sample_text.h"

#include <algorithm>

namespace dpserve::engine {

SampleText::SampleText(const Tokenizer& tokenizer, bool skip_special_tokens,
                       std::vector<std::string> stop, bool no_stop_trim)
    : decoder_(tokenizer, skip_special_tokens),
      stop_(std::move(stop)),
      no_stop_trim_(no_stop_trim) {}

void SampleText::push(std::span<const int32_t> ids, const FinishReason* finish) {
  if (finished_) return;
  // A stop token's own text is not part of the answer (unless no_stop_trim).
  if (finish != nullptr && finish->matched_token && !no_stop_trim_ && !ids.empty() &&
      ids.back() == *finish->matched_token) {
    ids = ids.first(ids.size() - 1);
  }
  for (int32_t id : ids) text_ += decoder_.push(id);
  if (finish == nullptr) return;
  text_ += decoder_.flush();
  finished_ = true;
  if (!finish->matched_str.empty() && !no_stop_trim_) {
    size_t at = text_.find(finish->matched_str);
    if (at != std::string::npos) text_.resize(std::max(at, sent_));
  }
}

size_t SampleText::held_back() const {
  if (finished_) return 0;
  size_t hold = 0;
  for (const auto& stop : stop_) {
    // The longest proper prefix of `stop` that ends text_.
    for (size_t len = std::min(stop.size() - 1, text_.size()); len > hold; --len) {
      if (std::string_view(text_).substr(text_.size() - len) ==
          std::string_view(stop).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  return hold;
}

std::string_view SampleText::visible() const {
  size_t end = text_.size() - held_back();
  return std::string_view(text_).substr(0, std::max(end, sent_));
}

std::string SampleText::take_delta() {
  std::string_view all = visible();
  std::string delta(all.substr(std::min(sent_, all.size())));
  sent_ = std::max(sent_, all.size());
  return delta;
}

}  // namespace dpserve::engine
