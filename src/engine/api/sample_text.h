// The text of one generated sample as it streams: UTF-8-safe incremental detokenisation, a held-
// back tail while it could still turn into a stop string (so a client never sees text that is
// later trimmed), and SGLang's trimming of the matched stop string or stop token at the end.
#pragma once

#include "engine/sched/request.h"
#include "engine/tokenizer/tokenizer.h"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpserve::engine {

class SampleText {
 public:
  SampleText(const Tokenizer& tokenizer, bool skip_special_tokens, std::vector<std::string> stop,
             bool no_stop_trim);

  // New tokens of one output; `finish` is the output's finish reason when it is the last one.
  void push(std::span<const int32_t> ids, const FinishReason* finish);

  // Text a client may see now (all of it once finished).
  std::string_view visible() const;
  // visible() past what earlier calls returned.
  std::string take_delta();

 private:
  size_t held_back() const;

  StreamDecoder decoder_;
  std::vector<std::string> stop_;
  bool no_stop_trim_;
  std::string text_;
  size_t sent_ = 0;
  bool finished_ = false;
};

}  // namespace dpserve::engine
