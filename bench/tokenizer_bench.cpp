// Tokenizer throughput: encode (with and without the BPE word cache warm), decode and streaming
// detokenisation, on generated family tokenizers. Input: the builder's training corpus repeated,
// plus a CJK/emoji-heavy text where byte-level pieces are long.
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/tokenizer_builder.h"
#include "engine/tokenizer/training_corpus.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <string>

namespace {

using dpserve::engine::Tokenizer;

std::unique_ptr<Tokenizer> make(const char* family, int vocab) {
  const auto files = dpserve::engine::build_tokenizer(family, vocab);
  return Tokenizer::from_json(files.tokenizer_json, files.tokenizer_config_json);
}

const char* kFamilies[] = {"llama", "qwen2", "deepseek_v2", "deepseek_v3"};

std::string english_and_code() {
  std::string text;
  while (text.size() < (1 << 20)) text += dpserve::engine::training_corpus();
  return text;
}

std::string cjk_and_emoji() {
  std::string text;
  while (text.size() < (1 << 20)) text += "敏捷的棕色狐狸跳过了懒狗。😀🚀✨ こんにちは世界 ";
  return text;
}

void encode(benchmark::State& state, const std::string& text, bool fresh_each_time) {
  const auto tok = make(kFamilies[state.range(0)], 32000);
  std::unique_ptr<Tokenizer> fresh;
  size_t tokens = 0;
  for (auto _ : state) {
    if (fresh_each_time) {
      state.PauseTiming();
      fresh = make(kFamilies[state.range(0)], 32000);
      state.ResumeTiming();
    }
    const auto ids = (fresh_each_time ? *fresh : *tok).encode(text, false);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens * state.iterations()),
                                                  benchmark::Counter::kIsRate);
  state.SetLabel(kFamilies[state.range(0)]);
}

void BM_EncodeEnglishCodeWarm(benchmark::State& state) {
  static const std::string text = english_and_code();
  encode(state, text, false);
}
void BM_EncodeEnglishCodeCold(benchmark::State& state) {
  static const std::string text = english_and_code();
  encode(state, text, true);
}
void BM_EncodeCjkEmojiWarm(benchmark::State& state) {
  static const std::string text = cjk_and_emoji();
  encode(state, text, false);
}

void BM_DecodeAndStream(benchmark::State& state) {
  const auto tok = make("llama", 32000);
  static const std::string text = english_and_code();
  const auto ids = tok->encode(text, false);
  for (auto _ : state) {
    if (state.range(0) == 0) {
      benchmark::DoNotOptimize(tok->decode(ids, false));
    } else {
      auto stream = tok->stream_decoder(false);
      size_t bytes = 0;
      for (int32_t id : ids) bytes += stream.push(id).size();
      benchmark::DoNotOptimize(bytes);
    }
  }
  state.SetLabel(state.range(0) == 0 ? "decode" : "stream");
  state.counters["tokens/s"] = benchmark::Counter(
      static_cast<double>(ids.size() * state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_EncodeEnglishCodeWarm)->DenseRange(0, 3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeEnglishCodeCold)->Arg(0)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeCjkEmojiWarm)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeAndStream)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
