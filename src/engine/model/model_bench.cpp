#include "engine/model/model_bench.h"

#include "engine/loader/checkpoint.h"
#include "engine/model/load_model.h"
#include "engine/ops/backend.h"
#include "engine/ops/bf16_matmul.h"
#include "engine/ops/gemv.h"
#include "engine/ops/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <immintrin.h>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace dpserve::engine {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Best-of-N wall time of fn().
template <typename Fn>
double best_time(int repeats, Fn&& fn) {
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto start = Clock::now();
    fn();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

// ---- memory bandwidth -----------------------------------------------------------------------

// A read-only streaming sum is what weight streaming does; it must not be compute-bound itself,
// hence 64-byte integer adds over four independent accumulators.
__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint64_t* p, size_t n) {
  __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_add_epi64(s0, _mm512_loadu_si512(p + i));
    s1 = _mm512_add_epi64(s1, _mm512_loadu_si512(p + i + 8));
    s2 = _mm512_add_epi64(s2, _mm512_loadu_si512(p + i + 16));
    s3 = _mm512_add_epi64(s3, _mm512_loadu_si512(p + i + 24));
  }
  uint64_t lanes[8];
  _mm512_storeu_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
  uint64_t s = 0;
  for (uint64_t v : lanes) s += v;
  for (; i < n; ++i) s += p[i];
  return s;
}

// Integer adds are associative, so the compiler vectorises this at the baseline ISA.
uint64_t sum_portable(const uint64_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i) s += p[i];
  return s;
}

struct ReadBandwidth {
  int threads;
  double gbs;
};

struct Bandwidth {
  std::vector<ReadBandwidth> read;  // per thread count tried
  double copy_gbs = 0;              // (read + written bytes) / s of memcpy at the bench's threads
  ReadBandwidth best() const {
    return *std::max_element(read.begin(), read.end(),
                             [](const auto& a, const auto& b) { return a.gbs < b.gbs; });
  }
};

// A 1 GiB buffer, far beyond any cache, that read_gbs() sums once. Kept alive through the whole
// bench so decode runs can be bracketed by bandwidth samples: on a shared machine the load moves
// between a bandwidth measured once up front and a decode measured a minute later.
class ReadProbe {
 public:
  static constexpr size_t kWords = size_t{1} << 27;

  ReadProbe() : a_(new uint64_t[kWords]) {
    // First touch from many threads, so pages spread over NUMA nodes as the readers will be.
    ThreadPool fill(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    fill.parallel_for(static_cast<int64_t>(kWords), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) a_[i] = static_cast<uint64_t>(i);
    });
  }

  const uint64_t* data() const { return a_.get(); }

  // GB/s of one read pass split over the pool's threads.
  double read_gbs(ThreadPool& pool) {
    const int t = pool.size();
    std::vector<uint64_t> partial(t);
    const auto start = Clock::now();
    pool.parallel_for(t, [&](int64_t t0, int64_t t1) {
      for (int64_t k = t0; k < t1; ++k) {
        const size_t lo = kWords / t * k, hi = k + 1 == t ? kWords : kWords / t * (k + 1);
        partial[k] = avx512_ ? sum_avx512(&a_[lo], hi - lo) : sum_portable(&a_[lo], hi - lo);
      }
    });
    const double secs = seconds_since(start);
    uint64_t sink = 0;
    for (uint64_t p : partial) sink += p;
    if (sink == 42) std::printf(" ");  // keeps the reads observable
    return kWords * sizeof(uint64_t) / secs / 1e9;
  }

 private:
  std::unique_ptr<uint64_t[]> a_;
  bool avx512_ = __builtin_cpu_supports("avx512f");
};

Bandwidth measure_bandwidth(ReadProbe& probe, int threads, int repeats) {
  Bandwidth bw;
  // Threads the decode uses, plus one and all hardware threads: the floor compares against the
  // best, so a thread count too small to saturate memory cannot flatter the ratio.
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int t : std::set<int>{1, threads, hw}) {
    ThreadPool pool(t);
    double best = 0;
    for (int r = 0; r < repeats; ++r) best = std::max(best, probe.read_gbs(pool));
    bw.read.push_back({t, best});
  }
  const size_t n = ReadProbe::kWords;
  std::unique_ptr<uint64_t[]> b(new uint64_t[n]);
  ThreadPool pool(threads);
  pool.parallel_for(static_cast<int64_t>(n), [&](int64_t lo, int64_t hi) {
    std::memset(&b[lo], 0, (hi - lo) * sizeof(uint64_t));
  });
  const double copy = best_time(repeats, [&] {
    pool.parallel_for(static_cast<int64_t>(n), [&](int64_t lo, int64_t hi) {
      std::memcpy(&b[lo], probe.data() + lo, (hi - lo) * sizeof(uint64_t));
    });
  });
  bw.copy_gbs = 2.0 * n * sizeof(uint64_t) / copy / 1e9;
  return bw;
}

// ---- linears --------------------------------------------------------------------------------

LinearWeight constant_weight(DType dtype, int64_t out, int64_t in) {
  LinearWeight w;
  w.out = out;
  w.in = in;
  w.dtype = dtype;
  if (dtype == DType::kBF16) {
    w.bf16.assign(out * in, f32_to_bf16(0.01f));
  } else {
    w.f32.assign(out * in, 0.01f);
  }
  return w;
}

double matmul_gflops(Backend& backend, DType dtype, int64_t m, int64_t n, int64_t k, int repeats) {
  LinearWeight w = constant_weight(dtype, n, k);
  backend.prepare(w);
  std::vector<float> x(m * k, 0.5f), y(m * n);
  backend.linear(x.data(), m, w, y.data());  // warm-up (primitive creation, thread start)
  const double t = best_time(repeats, [&] { backend.linear(x.data(), m, w, y.data()); });
  return 2.0 * m * n * k / t / 1e9;
}

// Decode-shaped linears over a weight far larger than any last-level cache, so what is timed is
// weight streaming from DRAM: every GEMV kernel this CPU has against the library call it replaces.
void weight_streaming(DType dtype, int threads, int repeats) {
  constexpr int64_t kIn = 2048;
  constexpr int64_t kBytes = int64_t{512} << 20;
  const int64_t out = kBytes / (kIn * static_cast<int64_t>(dtype_size(dtype)));
  LinearWeight w = constant_weight(dtype, out, kIn);
  ThreadPool pool(threads);
  GemvScratch scratch;
  std::vector<float> x(kGemvMaxRows * kIn, 0.5f), y(kGemvMaxRows * out);
  auto report = [&](const char* what, int64_t m, auto&& fn) {
    fn();  // warm-up
    const double t = best_time(repeats, fn);
    std::printf("  M=%lld %-28s %6.1f GB/s of weights (%.2f ms)\n", static_cast<long long>(m), what,
                kBytes / t / 1e9, t * 1e3);
  };
  std::printf("weight streaming, %s W [%lld, %lld] = %lld MiB, %d threads:\n",
              std::string(dtype_name(dtype)).c_str(), static_cast<long long>(out),
              static_cast<long long>(kIn), static_cast<long long>(kBytes >> 20), threads);
  for (int64_t m : {int64_t{1}, kGemvMaxRows}) {
    for (GemvIsa isa : {GemvIsa::kAvx512Bf16, GemvIsa::kAvx512, GemvIsa::kGeneric}) {
      if (!gemv_isa_supported(isa)) continue;
      const std::string name = std::string("gemv ") + gemv_isa_name(isa);
      if (dtype == DType::kBF16) {
        report(name.c_str(), m, [&] {
          gemv_bf16(isa, x.data(), m, w.bf16.data(), out, kIn, y.data(), pool, scratch);
        });
      } else if (isa != GemvIsa::kAvx512Bf16) {
        report(name.c_str(), m,
               [&] { gemv_f32(isa, x.data(), m, w.f32.data(), out, kIn, y.data(), pool); });
      }
    }
    if (dtype == DType::kBF16) {
      Bf16Matmul onednn(threads);
      onednn.prepare(w);
      report("oneDNN matmul (baseline)", m, [&] { onednn.run(x.data(), m, w, y.data()); });
    } else if (m == 1) {
      report("OpenBLAS sgemv (baseline)", m, [&] {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out, kIn, 1.0f, w.f32.data(), kIn, x.data(), 1,
                    0.0f, y.data(), 1);
      });
    } else {
      report("OpenBLAS sgemm (baseline)", m, [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, out, kIn, 1.0f, x.data(), kIn,
                    w.f32.data(), kIn, 0.0f, y.data(), out);
      });
    }
  }
}

// ---- model ----------------------------------------------------------------------------------

// Bytes a decode step must stream: every weight once (the embedding: one row, unless tied, when
// the LM head reads the whole table).
double decode_weight_bytes(const std::string& dir, DType dtype) {
  Checkpoint ckpt(dir);
  int64_t weight_elems = 0;
  int64_t embed_elems = 0;
  for (const auto& name : ckpt.tensor_names()) {
    const int64_t e = ckpt.tensor(name).info->numel();
    if (name == "model.embed_tokens.weight") {
      embed_elems = e;
    } else {
      weight_elems += e;
    }
  }
  if (ckpt.config().get_bool("tie_word_embeddings", false)) weight_elems += embed_elems;
  return static_cast<double>(weight_elems) * dtype_size(dtype);
}

struct DecodeResult {
  double step_s = 0;
  double gbs = 0;  // (weights + KV) / step
};

struct ModelRun {
  const ModelBenchOptions& o;
  std::vector<int32_t> tokens;
  std::vector<int64_t> slots;

  explicit ModelRun(const ModelBenchOptions& options, int vocab) : o(options) {
    const int64_t total = o.prompt_tokens + o.decode_tokens;
    tokens.resize(total);
    slots.resize(total);
    for (int64_t i = 0; i < total; ++i) {
      tokens[i] = static_cast<int32_t>((i * 7919 + 13) % vocab);
      slots[i] = i;
    }
  }

  void prefill(Model& model, KvStorage& kv, std::vector<float>& logits) {
    Batch batch;
    batch.seqs.push_back({std::span<const int32_t>(tokens).subspan(0, o.prompt_tokens), 0, slots});
    model.forward(batch, kv, logits);
  }

  // Wall time of decode_tokens batch-1 steps after the prompt (prefill must have run on kv).
  double decode(Model& model, KvStorage& kv, std::vector<float>& logits) {
    const int64_t total = o.prompt_tokens + o.decode_tokens;
    const auto start = Clock::now();
    for (int64_t i = o.prompt_tokens; i < total; ++i) {
      Batch batch;
      batch.seqs.push_back({std::span<const int32_t>(tokens).subspan(i, 1), i, slots});
      model.forward(batch, kv, logits);
    }
    return seconds_since(start);
  }

  DecodeResult result(double best_s, const ModelInfo& info, double weight_bytes) const {
    DecodeResult res;
    res.step_s = best_s / o.decode_tokens;
    // KV read per step: the average context's K and V rows of every layer.
    const double kv_bytes = (o.prompt_tokens + o.decode_tokens / 2.0) * info.kv_bytes_per_token();
    res.gbs = (weight_bytes + kv_bytes) / res.step_s / 1e9;
    return res;
  }
};

struct FloorLine {
  std::string text;
};

FloorLine bench_dtype(const ModelBenchOptions& o, DType dtype, Bandwidth& bw, ReadProbe& probe) {
  const std::string dt(dtype_name(dtype));
  std::printf("\n== %s ==\n", dt.c_str());
  {
    auto backend = make_cpu_backend({o.threads, dtype});
    std::printf("backend %s\n", backend->name().c_str());
    for (int64_t m : {int64_t{64}, int64_t{512}}) {
      std::printf("matmul M=%lld N=K=2048 (%s): %.1f GFLOP/s\n", static_cast<long long>(m),
                  dtype == DType::kBF16 ? "oneDNN" : "OpenBLAS sgemm",
                  matmul_gflops(*backend, dtype, m, 2048, 2048, o.repeats));
    }
  }
  weight_streaming(dtype, o.threads, o.repeats);

  LoadOptions load;
  load.threads = o.threads;
  load.compute_dtype = dtype;
  const auto load_start = Clock::now();
  auto model = load_model(o.dir, load);
  const ModelInfo& info = model->info();
  std::printf("model %s loaded in %.1f s\n", info.architecture.c_str(), seconds_since(load_start));
  const double weight_bytes = decode_weight_bytes(o.dir, dtype);
  const int64_t total = o.prompt_tokens + o.decode_tokens;
  KvStorage kv(info.num_layers, total, info.kv_k_width, info.kv_v_width);
  std::vector<float> logits(info.vocab_size);
  ModelRun run(o, info.vocab_size);

  const double prefill = best_time(o.repeats, [&] { run.prefill(*model, kv, logits); });
  std::printf("prefill %d tokens: %.3f s, %.1f tok/s\n", o.prompt_tokens, prefill,
              o.prompt_tokens / prefill);
  // With --baseline both models stay loaded and their decode runs alternate, so load changes on a
  // shared machine hit both alike.
  std::unique_ptr<Model> lib;
  std::unique_ptr<KvStorage> lib_kv;
  if (o.baseline) {
    load.gemv = false;
    lib = load_model(o.dir, load);
    lib_kv = std::make_unique<KvStorage>(info.num_layers, total, info.kv_k_width, info.kv_v_width);
    run.prefill(*lib, *lib_kv, logits);
  }
  double gemv_best = 1e30, lib_best = 1e30;
  ThreadPool probe_pool(o.threads);
  std::string samples;
  for (int r = 0; r < o.repeats; ++r) {
    const double gbs = probe.read_gbs(probe_pool);
    bw.read.push_back({o.threads, gbs});
    char sample[16];
    std::snprintf(sample, sizeof(sample), " %.1f", gbs);
    samples += sample;
    gemv_best = std::min(gemv_best, run.decode(*model, kv, logits));
    if (lib) lib_best = std::min(lib_best, run.decode(*lib, *lib_kv, logits));
  }
  std::printf("read bandwidth sampled before each decode run (GB/s, %d threads):%s\n", o.threads,
              samples.c_str());
  const DecodeResult dec = run.result(gemv_best, info, weight_bytes);
  const double kv_mb = (o.prompt_tokens + o.decode_tokens / 2.0) * info.kv_bytes_per_token() / 1e6;
  std::printf(
      "decode batch 1 (context %d..%lld): %.2f ms/token, %.1f tok/s; streams %.1f MB weights + "
      "%.1f MB KV per token = %.1f GB/s\n",
      o.prompt_tokens, static_cast<long long>(total), dec.step_s * 1e3, 1.0 / dec.step_s,
      weight_bytes / 1e6, kv_mb, dec.gbs);
  std::string baseline;
  if (lib) {
    const DecodeResult b = run.result(lib_best, info, weight_bytes);
    std::printf("decode batch 1, library linears (%s, baseline): %.2f ms/token, %.1f tok/s\n",
                dtype == DType::kBF16 ? "oneDNN" : "OpenBLAS sgemv", b.step_s * 1e3,
                1.0 / b.step_s);
    char buf[96];
    std::snprintf(buf, sizeof(buf), "; library linears %.1f tok/s (%.2fx)", 1.0 / b.step_s,
                  b.step_s / dec.step_s);
    baseline = buf;
  }
  const ReadBandwidth best = bw.best();
  const double pct = 100 * dec.gbs / best.gbs;
  char line[320];
  std::snprintf(line, sizeof(line),
                "FLOOR %s: decode %.1f tok/s, %.1f GB/s of weights+KV = %.0f%% of read bandwidth "
                "%.1f GB/s (best streaming sum of this run, %d threads) -> floor 60%% %s%s",
                dt.c_str(), 1.0 / dec.step_s, dec.gbs, pct, best.gbs, best.threads,
                pct >= 60 ? "MET" : "NOT MET", baseline.c_str());
  std::printf("%s\n", line);
  return {line};
}

}  // namespace

int run_model_bench(const ModelBenchOptions& o) {
  std::printf("threads %d (hardware %u); gemv ISA: bf16 %s, f32 %s\n", o.threads,
              std::thread::hardware_concurrency(), gemv_isa_name(best_gemv_isa_bf16()),
              gemv_isa_name(best_gemv_isa_f32()));
  ReadProbe probe;
  Bandwidth bw = measure_bandwidth(probe, o.threads, o.repeats);
  std::printf("memory bandwidth (1 GiB, best of %d):", o.repeats);
  for (const auto& r : bw.read) std::printf(" read %.1f GB/s @%d threads;", r.gbs, r.threads);
  std::printf(" copy %.1f GB/s (read+write) @%d threads\n", bw.copy_gbs, o.threads);

  std::vector<FloorLine> floors;
  for (DType dtype : o.dtypes) floors.push_back(bench_dtype(o, dtype, bw, probe));
  std::printf("\n");
  for (const auto& f : floors) std::printf("%s\n", f.text.c_str());
  return 0;
}

}  // namespace dpserve::engine
