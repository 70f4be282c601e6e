#include "engine/api/info_endpoints.h"

#include "engine/api/field_reader.h"

namespace dpserve::engine {

using nlohmann::json;

json server_info(const EngineContext& c) {
  const EngineOptions& o = c.options;
  const ModelInfo& info = c.dp->model_info();
  json states = json::array();
  const auto loads = c.dp->scheduler_loads();
  for (size_t rank = 0; rank < loads.size(); ++rank) {
    const SchedulerLoad& l = loads[rank];
    states.push_back({{"dp_rank", rank},
                      {"num_running_reqs", l.num_running},
                      {"num_queue_reqs", l.num_waiting},
                      {"num_used_tokens", l.num_used_tokens},
                      {"token_usage", l.token_usage},
                      {"cache_hit_rate", l.cache_hit_rate()},
                      {"cached_tokens_in_tree", l.cached_tokens_in_tree},
                      {"num_retractions", l.retractions_total}});
  }
  return json{{"model_path", c.model_path},
              {"tokenizer_path", c.model_path},
              {"served_model_name", c.served_model_name},
              {"host", o.host},
              {"port", o.port},
              {"dp_size", o.dp_size},
              {"tp_size", o.tp_size},
              {"pp_size", o.pp_size},
              {"ep_size", o.ep_size},
              {"enable_dp_attention", o.enable_dp_attention},
              {"load_balance_method", o.load_balance_method},
              {"page_size", o.page_size},
              {"max_total_tokens", o.max_total_tokens > 0 ? json(o.max_total_tokens) : json()},
              {"kv_cache_memory", o.kv_cache_memory > 0 ? json(o.kv_cache_memory) : json()},
              {"disable_radix_cache", o.disable_radix_cache},
              {"chunked_prefill_size", o.chunked_prefill_size},
              {"max_running_requests", o.max_running_requests},
              {"max_prefill_tokens", o.max_prefill_tokens},
              {"schedule_policy", o.schedule_policy},
              {"chat_template", c.chat_template ? json(c.chat_template->name()) : json()},
              {"context_length", c.context_length},
              {"threads", o.threads},
              {"max_total_num_tokens", c.max_total_tokens},
              {"max_req_input_len", c.context_length - 1},
              {"kv_bytes_per_token", info.kv_bytes_per_token()},
              {"architecture", info.architecture},
              {"internal_states", std::move(states)},
              {"version", "0.1.0"}};
}

json model_info(const EngineContext& c) {
  return json{{"model_path", c.model_path},
              {"tokenizer_path", c.model_path},
              {"served_model_name", c.served_model_name},
              {"is_generation", true},
              {"architecture", c.dp->model_info().architecture},
              {"vocab_size", c.dp->model_info().vocab_size},
              {"context_length", c.context_length}};
}

json load_info(const EngineContext& c) {
  json out = json::array();
  const auto loads = c.dp->scheduler_loads();
  const auto dispatched = c.dp->dispatched_loads();
  for (size_t rank = 0; rank < loads.size(); ++rank) {
    // Dispatched counts include requests still in a scheduler's inbox, which its own snapshot
    // has not seen yet.
    out.push_back({{"dp_rank", rank},
                   {"num_reqs", dispatched[rank].requests},
                   {"num_running_reqs", loads[rank].num_running},
                   {"num_waiting_reqs", loads[rank].num_waiting},
                   {"num_tokens", dispatched[rank].tokens},
                   {"num_used_tokens", loads[rank].num_used_tokens},
                   {"max_total_num_tokens", loads[rank].max_total_tokens}});
  }
  return out;
}

json models_list(const EngineContext& c) {
  json model = {
      {"id", c.served_model_name}, {"object", "model"},    {"created", 0},
      {"owned_by", "dpserve"},     {"root", c.model_path}, {"max_model_len", c.context_length}};
  return json{{"object", "list"}, {"data", json::array({std::move(model)})}};
}

json tokenize(const EngineContext& c, const json& body, std::string* error) {
  FieldReader r(body, "");
  bool add_special = true;
  r.get("add_special_tokens", add_special);
  std::vector<std::string> texts;
  const json* prompt = r.find("text") != nullptr ? r.find("text") : r.find("prompt");
  if (r.ok() && prompt == nullptr) r.fail("text is required");
  if (r.ok() && prompt->is_array() && prompt->empty()) r.fail("text must not be an empty list");
  if (r.ok()) r.get_strings(r.has("text") ? "text" : "prompt", texts);
  if (!r.ok()) {
    *error = r.error();
    return nullptr;
  }
  json tokens = json::array();
  json counts = json::array();
  for (const auto& text : texts) {
    auto ids = c.tokenizer->encode(text, add_special);
    counts.push_back(ids.size());
    tokens.push_back(std::move(ids));
  }
  const bool single = prompt->is_string();
  return json{{"tokens", single ? tokens[0] : tokens},
              {"count", single ? counts[0] : counts},
              {"max_model_len", c.context_length}};
}

json detokenize(const EngineContext& c, const json& body, std::string* error) {
  FieldReader r(body, "");
  bool skip_special = true;
  r.get("skip_special_tokens", skip_special);
  const json* tokens = r.find("tokens");
  if (r.ok() && tokens == nullptr) r.fail("tokens is required");
  if (!r.ok()) {
    *error = r.error();
    return nullptr;
  }
  const bool batch = tokens->is_array() && !tokens->empty() && (*tokens)[0].is_array();
  json texts = json::array();
  for (size_t i = 0; i < (batch ? tokens->size() : 1); ++i) {
    auto ids = read_ids(batch ? (*tokens)[i] : *tokens, "tokens", error);
    if (!ids) return nullptr;
    texts.push_back(c.tokenizer->decode(*ids, skip_special));
  }
  return json{{"text", batch ? texts : texts[0]}};
}

}  // namespace dpserve::engine
