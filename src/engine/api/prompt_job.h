// One prompt's generation as the API layer handles it: the scheduler request plus what only the
// front end knows (stop strings, detokenisation options, logprob formatting).
#pragma once

#include "engine/sched/request.h"

#include <optional>
#include <string>
#include <vector>

namespace dpserve::engine {

class FieldReader;
class Tokenizer;

struct PromptJob {
  GenerateRequest request;  // id, input_ids, sampling, max_new_tokens, stop ids, ignore_eos, n
  std::vector<std::string> stop;
  bool skip_special_tokens = true;
  bool no_stop_trim = false;
};

// Reads SGLang sampling_params keys (engine-internals.md §7.1) into `job`. The OpenAI endpoints
// pass openai = true: then max_tokens / max_completion_tokens name the output budget, `seed` the
// seed, and unknown keys are left alone (the body holds other fields).
void read_sampling_params(FieldReader& reader, bool openai, PromptJob& job);

// Final checks and the stop-string checker (runs on the scheduler thread; `tokenizer` must outlive
// the request). Empty when valid, else a 400 message.
std::string finalize_prompt_job(PromptJob& job, const Tokenizer& tokenizer);

}  // namespace dpserve::engine
