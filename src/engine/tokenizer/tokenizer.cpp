#include "engine/tokenizer/tokenizer.h"

#include "engine/tokenizer/added_tokens.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace dpserve::engine {
namespace {

using nlohmann::json;

constexpr int kMaxNesting = 8;
// Real vocabularies stay below 300k; the cap bounds per-id tables on hostile input.
constexpr int64_t kMaxTokenId = int64_t{1} << 21;

[[noreturn]] void fail(const std::string& file, const std::string& field, const std::string& what) {
  throw TokenizerError(file + ": " + field + ": " + what);
}

json parse(std::string_view text, const std::string& file) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw TokenizerError(file + ": malformed JSON: " + e.what());
  }
}

std::string read_file(const std::filesystem::path& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!required) return {};
    throw TokenizerError(path.string() + ": cannot open (missing file?)");
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::pair<std::string, std::string>> parse_merges(const json& merges,
                                                              const std::string& file) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!merges.is_array()) fail(file, "model.merges", "expected an array");
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string field = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {  // "a b" (tokenizers < 0.20)
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || space == 0 || space + 1 >= s.size() ||
          s.find(' ', space + 1) != std::string::npos) {
        fail(file, field, "expected \"left right\", got \"" + s + "\"");
      }
      out.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());  // ["a", "b"]
    } else {
      fail(file, field, "expected a \"left right\" string or a [left, right] pair");
    }
  }
  return out;
}

// tokenizer_config.json writes special tokens as strings or as AddedToken objects.
std::string token_content(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  return {};
}

bool bool_field(const json& object, const char* key, bool fallback, const std::string& file,
                const std::string& field) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) fail(file, field + "." + key, "expected a boolean");
  return it->get<bool>();
}

// Post-processor: ids to put before and after the encoded text (single-sequence template).
void parse_post_processor(const json& config, std::vector<int32_t>& prefix,
                          std::vector<int32_t>& suffix, const std::string& file, int depth = 0) {
  if (depth > kMaxNesting) fail(file, "post_processor", "nested too deeply");
  if (config.is_null()) return;
  if (!config.is_object() || !config.contains("type") || !config["type"].is_string()) {
    fail(file, "post_processor", "expected an object with a string \"type\"");
  }
  const std::string type = config["type"].get<std::string>();
  if (type == "ByteLevel") return;  // offsets only; no ids
  if (type == "Sequence") {
    const auto it = config.find("processors");
    if (it == config.end() || !it->is_array())
      fail(file, "post_processor.processors", "expected an array");
    for (const json& sub : *it) parse_post_processor(sub, prefix, suffix, file, depth + 1);
    return;
  }
  if (type != "TemplateProcessing") {
    fail(file, "post_processor.type", "unsupported \"" + type + "\"");
  }
  const auto single = config.find("single");
  const auto specials = config.find("special_tokens");
  if (single == config.end() || !single->is_array()) {
    fail(file, "post_processor.single", "expected an array");
  }
  bool seen_sequence = false;
  for (const json& item : *single) {
    if (item.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    const json* special = item.contains("SpecialToken") ? &item["SpecialToken"] : nullptr;
    if (special == nullptr || !special->contains("id") || !(*special)["id"].is_string()) {
      fail(file, "post_processor.single", "expected Sequence or SpecialToken items");
    }
    const std::string name = (*special)["id"].get<std::string>();
    if (specials == config.end() || !specials->contains(name) ||
        !(*specials)[name].contains("ids") || !(*specials)[name]["ids"].is_array()) {
      fail(file, "post_processor.special_tokens", "no ids for \"" + name + "\"");
    }
    for (const json& id : (*specials)[name]["ids"]) {
      if (!id.is_number_integer())
        fail(file, "post_processor.special_tokens", "ids must be integers");
      (seen_sequence ? suffix : prefix).push_back(id.get<int32_t>());
    }
  }
}

void check_decoder(const json& config, const std::string& file, int depth = 0) {
  if (depth > kMaxNesting) fail(file, "decoder", "nested too deeply");
  if (config.is_null()) return;
  const std::string type =
      config.is_object() && config.contains("type") && config["type"].is_string()
          ? config["type"].get<std::string>()
          : "";
  if (type == "ByteLevel") return;
  if (type == "Sequence" && config.contains("decoders") && config["decoders"].is_array()) {
    for (const json& sub : config["decoders"]) check_decoder(sub, file, depth + 1);
    return;
  }
  fail(file, "decoder",
       "unsupported decoder " + config.dump().substr(0, 80) +
           " (only ByteLevel byte-level BPE is supported)");
}

}  // namespace

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  const std::string tok = read_file(dir / "tokenizer.json", true);
  const std::string cfg = read_file(dir / "tokenizer_config.json", true);
  const std::string gen = read_file(dir / "generation_config.json", false);
  return from_json(tok, cfg, gen, model_dir + "/");
}

std::unique_ptr<Tokenizer> Tokenizer::from_json(std::string_view tokenizer_json,
                                                std::string_view tokenizer_config_json,
                                                std::string_view generation_config_json,
                                                const std::string& origin) {
  const std::string tok_file = origin + "tokenizer.json";
  const std::string cfg_file = origin + "tokenizer_config.json";
  const json tok = parse(tokenizer_json, tok_file);
  const json cfg = parse(tokenizer_config_json, cfg_file);
  if (!tok.is_object()) fail(tok_file, "(root)", "expected an object");
  if (!cfg.is_object()) fail(cfg_file, "(root)", "expected an object");

  std::unique_ptr<Tokenizer> t(new Tokenizer);

  // Model.
  const auto model = tok.find("model");
  if (model == tok.end() || !model->is_object())
    fail(tok_file, "model", "missing or not an object");
  if (model->contains("type") && (*model)["type"] != "BPE") {
    fail(tok_file, "model.type", "only \"BPE\" is supported, got " + (*model)["type"].dump());
  }
  if (bool_field(*model, "byte_fallback", false, tok_file, "model")) {
    fail(tok_file, "model.byte_fallback",
         "SentencePiece-style byte_fallback models are not supported (byte-level BPE only)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model->contains(key) && !(*model)[key].is_null() && (*model)[key] != "") {
      fail(tok_file, std::string("model.") + key, "not supported");
    }
  }
  const auto vocab_it = model->find("vocab");
  if (vocab_it == model->end() || !vocab_it->is_object() || vocab_it->empty()) {
    fail(tok_file, "model.vocab", "missing, empty or not an object");
  }
  TokenMap vocab;
  vocab.reserve(vocab_it->size());
  for (const auto& [spelling, id] : vocab_it->items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= kMaxTokenId) {
      fail(tok_file, "model.vocab[\"" + spelling + "\"]", "expected an id in [0, 2^21)");
    }
    vocab.emplace(spelling, id.get<int32_t>());
  }
  const auto merges_it = model->find("merges");
  if (merges_it == model->end()) fail(tok_file, "model.merges", "missing");
  const auto merges = parse_merges(*merges_it, tok_file);
  std::optional<int32_t> unk;
  if (model->contains("unk_token") && (*model)["unk_token"].is_string()) {
    const auto it = vocab.find((*model)["unk_token"].get<std::string>());
    if (it != vocab.end()) unk = it->second;
  }
  const bool ignore_merges = bool_field(*model, "ignore_merges", false, tok_file, "model");
  try {
    t->model_ = std::make_unique<BpeModel>(std::move(vocab), merges, ignore_merges, unk);
    t->pre_tokenizer_ = PreTokenizer::from_json(tok.value("pre_tokenizer", json()));
    t->normalizer_ = Normalizer::from_json(tok.value("normalizer", json()));
  } catch (const std::invalid_argument& e) {
    throw TokenizerError(tok_file + ": " + e.what());
  }
  check_decoder(tok.value("decoder", json()), tok_file);
  const bool decoder_byte_level = tok.contains("decoder") && !tok["decoder"].is_null();
  if (!t->pre_tokenizer_->byte_level() && !decoder_byte_level) {
    fail(tok_file, "pre_tokenizer", "no ByteLevel step: only byte-level BPE is supported");
  }

  // Added tokens.
  t->added_ = std::make_unique<AddedTokenMatcher>();
  int32_t limit = t->model_->id_limit();
  if (tok.contains("added_tokens") && !tok["added_tokens"].is_null()) {
    const json& list = tok["added_tokens"];
    if (!list.is_array()) fail(tok_file, "added_tokens", "expected an array");
    int64_t max_added = -1;
    for (size_t i = 0; i < list.size(); ++i) {
      const json& a = list[i];
      const std::string field = "added_tokens[" + std::to_string(i) + "]";
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string()) {
        fail(tok_file, field, "expected an object with integer \"id\" and string \"content\"");
      }
      AddedToken token;
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= kMaxTokenId) fail(tok_file, field + ".id", "out of range");
      token.id = static_cast<int32_t>(id);
      token.content = a["content"].get<std::string>();
      if (token.content.empty()) fail(tok_file, field + ".content", "empty");
      token.special = bool_field(a, "special", false, tok_file, field);
      token.single_word = bool_field(a, "single_word", false, tok_file, field);
      token.lstrip = bool_field(a, "lstrip", false, tok_file, field);
      token.rstrip = bool_field(a, "rstrip", false, tok_file, field);
      token.normalized = bool_field(a, "normalized", false, tok_file, field);
      // HF ignores the declared id of a token the model vocab lacks and numbers it after the
      // vocab; a file where the two disagree would encode differently there, so refuse it.
      int64_t hf_id;
      if (const AddedToken* seen = t->added_->find(token.content)) {
        hf_id = seen->id;
      } else if (const auto in_vocab = t->model_->token_id(token.content)) {
        hf_id = *in_vocab;
      } else {
        const auto entries = static_cast<int64_t>(t->model_->entry_count());
        hf_id = max_added >= entries ? max_added + 1 : entries;
      }
      if (hf_id != token.id) {
        fail(tok_file, field + ".id",
             std::to_string(token.id) + " but Hugging Face would assign " + std::to_string(hf_id) +
                 " (a token outside model.vocab takes the next id after it)");
      }
      max_added = std::max(max_added, hf_id);
      t->added_->add(token);
      limit = std::max(limit, token.id + 1);
    }
  }
  t->vocab_size_ = limit;
  t->added_content_.assign(limit, {});
  t->special_.assign(limit, false);
  for (const AddedToken& token : t->added_->tokens()) {
    t->added_content_[token.id] = token.content;
    t->special_[token.id] = token.special;
  }

  parse_post_processor(tok.value("post_processor", json()), t->prefix_ids_, t->suffix_ids_,
                       tok_file);
  for (int32_t id : t->prefix_ids_) {
    if (id < 0 || id >= limit)
      fail(tok_file, "post_processor", "id " + std::to_string(id) + " out of range");
  }
  for (int32_t id : t->suffix_ids_) {
    if (id < 0 || id >= limit)
      fail(tok_file, "post_processor", "id " + std::to_string(id) + " out of range");
  }

  // tokenizer_config.json: BOS/EOS and the chat template.
  t->bos_token_ = token_content(cfg.value("bos_token", json()));
  t->eos_token_ = token_content(cfg.value("eos_token", json()));
  if (!t->bos_token_.empty()) {
    const auto id = t->token_to_id(t->bos_token_);
    if (!id) fail(cfg_file, "bos_token", "\"" + t->bos_token_ + "\" is not in the vocabulary");
    t->bos_id_ = *id;
  }
  if (!t->eos_token_.empty()) {
    const auto id = t->token_to_id(t->eos_token_);
    if (!id) fail(cfg_file, "eos_token", "\"" + t->eos_token_ + "\" is not in the vocabulary");
    t->eos_ids_.push_back(*id);
  }
  if (cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) {
      t->chat_template_source_ = ct.get<std::string>();
    } else if (ct.is_array()) {
      for (const json& named : ct) {
        if (named.is_object() && named.contains("name") && named["name"] == "default" &&
            named.contains("template") && named["template"].is_string()) {
          t->chat_template_source_ = named["template"].get<std::string>();
        }
      }
    } else if (!ct.is_null()) {
      fail(cfg_file, "chat_template", "expected a string or a list of {name, template}");
    }
  }
  if (!generation_config_json.empty()) {
    const std::string gen_file = origin + "generation_config.json";
    const json gen = parse(generation_config_json, gen_file);
    const json eos = gen.is_object() ? gen.value("eos_token_id", json()) : json();
    auto add_eos = [&](const json& v) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= limit) {
        fail(gen_file, "eos_token_id", "expected ids below the vocabulary size");
      }
      const auto id = v.get<int32_t>();
      if (std::find(t->eos_ids_.begin(), t->eos_ids_.end(), id) == t->eos_ids_.end()) {
        t->eos_ids_.push_back(id);
      }
    };
    if (eos.is_array()) {
      for (const json& v : eos) add_eos(v);
    } else if (!eos.is_null()) {
      add_eos(eos);
    }
  }
  return t;
}

void Tokenizer::encode_plain(std::string_view text, std::vector<int32_t>& out) const {
  std::string buffer;
  const bool prefix = pre_tokenizer_->add_prefix_space() && !text.empty() && text.front() != ' ';
  if (normalizer_->active() || prefix) {
    if (prefix) buffer.push_back(' ');
    buffer += normalizer_->active() ? normalizer_->apply(text) : std::string(text);
    text = buffer;
  }
  std::vector<Span> pieces;
  pre_tokenizer_->split(text, pieces);
  for (const auto& [begin, end] : pieces)
    model_->encode_piece(text.substr(begin, end - begin), out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens,
                                       bool parse_special) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids = prefix_ids_;
  std::vector<AddedTokenMatcher::Segment> segments;
  added_->split(text, parse_special, segments);
  for (const auto& segment : segments) {
    if (segment.token_id >= 0) {
      ids.push_back(segment.token_id);
    } else {
      encode_plain(segment.text, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  if (id < 0 || id >= vocab_size_) return {};
  if (!added_content_[id].empty()) return added_content_[id];
  const std::string* spelling = model_->token(id);
  return spelling == nullptr ? std::string() : byte_level::decode(*spelling);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string out;
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    out += token_to_piece(id);
  }
  return out;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size_) return std::nullopt;
  if (!added_content_[id].empty()) return added_content_[id];
  const std::string* spelling = model_->token(id);
  if (spelling == nullptr) return std::nullopt;
  return *spelling;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* added = added_->find(token)) return added->id;
  return model_->token_id(token);
}

bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size_ && special_[id]; }

std::optional<int32_t> Tokenizer::special_token_id(std::string_view content) const {
  const AddedToken* added = added_->find(content);
  if (added == nullptr || !added->special) return std::nullopt;
  return added->id;
}

size_t Tokenizer::merge_count() const { return model_->merge_count(); }

StreamDecoder Tokenizer::stream_decoder(bool skip_special_tokens) const {
  return StreamDecoder(*this, skip_special_tokens);
}

}  // namespace dpserve::engine
