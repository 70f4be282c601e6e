#include "engine/model/model_bench.h"

#include "engine/loader/checkpoint.h"
#include "engine/model/load_model.h"
#include "engine/ops/backend.h"
#include "engine/ops/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
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

struct Bandwidth {
  double copy_gbs;  // (read + write bytes) / s of a large memcpy
  double read_gbs;  // read bytes / s of a large sum
};

Bandwidth measure_bandwidth(int threads, int repeats) {
  const size_t n = size_t{1} << 28;  // 1 GiB of floats, far beyond any cache
  std::vector<float> a(n, 1.0f), b(n, 0.0f);
  ThreadPool pool(threads);
  const double copy = best_time(repeats, [&] {
    pool.parallel_for(static_cast<int64_t>(n), [&](int64_t lo, int64_t hi) {
      std::memcpy(&b[lo], &a[lo], (hi - lo) * sizeof(float));
    });
  });
  std::vector<double> partial(threads);
  const double read = best_time(repeats, [&] {
    std::fill(partial.begin(), partial.end(), 0.0);
    pool.parallel_for(threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const size_t lo = n / threads * t, hi = t + 1 == threads ? n : n / threads * (t + 1);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (size_t i = lo; i + 4 <= hi; i += 4) {
          s0 += a[i];
          s1 += a[i + 1];
          s2 += a[i + 2];
          s3 += a[i + 3];
        }
        partial[t] = s0 + s1 + s2 + s3;
      }
    });
  });
  double sink = 0;
  for (double p : partial) sink += p;
  if (sink < 0) std::printf("%f\n", sink);  // keep the reads observable
  return {2.0 * n * sizeof(float) / copy / 1e9, 1.0 * n * sizeof(float) / read / 1e9};
}

double matmul_gflops(Backend& backend, DType dtype, int64_t m, int64_t n, int64_t k, int repeats) {
  LinearWeight w;
  w.out = n;
  w.in = k;
  w.dtype = dtype;
  if (dtype == DType::kBF16) {
    w.bf16.assign(n * k, f32_to_bf16(0.01f));
  } else {
    w.f32.assign(n * k, 0.01f);
  }
  backend.prepare(w);
  std::vector<float> x(m * k, 0.5f), y(m * n);
  backend.linear(x.data(), m, w, y.data());  // warm-up (primitive creation, thread start)
  const double t = best_time(repeats, [&] { backend.linear(x.data(), m, w, y.data()); });
  return 2.0 * m * n * k / t / 1e9;
}

}  // namespace

int run_model_bench(const ModelBenchOptions& o) {
  std::printf("threads %d, compute %s\n", o.threads, std::string(dtype_name(o.dtype)).c_str());
  const Bandwidth bw = measure_bandwidth(o.threads, o.repeats);
  std::printf("memory bandwidth: copy %.1f GB/s (read+write), read %.1f GB/s\n", bw.copy_gbs,
              bw.read_gbs);
  auto backend = make_cpu_backend({o.threads, o.dtype});
  for (int64_t m : {int64_t{1}, int64_t{64}, int64_t{512}}) {
    std::printf("matmul %s M=%lld N=K=2048: %.1f GFLOP/s\n", backend->name().c_str(),
                static_cast<long long>(m),
                matmul_gflops(*backend, o.dtype, m, 2048, 2048, o.repeats));
  }

  LoadOptions load;
  load.threads = o.threads;
  load.compute_dtype = o.dtype;
  const auto load_start = Clock::now();
  auto model = load_model(o.dir, load);
  std::printf("model %s loaded in %.1f s\n", model->info().architecture.c_str(),
              seconds_since(load_start));
  const ModelInfo& info = model->info();

  // Bytes a decode step must stream: every linear weight once (embedding: one row).
  Checkpoint ckpt(o.dir);
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
  const bool tied = ckpt.config().get_bool("tie_word_embeddings", false);
  if (tied) weight_elems += embed_elems;  // the LM head reads the whole table
  const double weight_bytes = static_cast<double>(weight_elems) * dtype_size(o.dtype);

  const int64_t total = o.prompt_tokens + o.decode_tokens;
  std::vector<int32_t> tokens(total);
  for (int64_t i = 0; i < total; ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % info.vocab_size);
  std::vector<int64_t> slots(total);
  for (int64_t i = 0; i < total; ++i) slots[i] = i;
  KvStorage kv(info.num_layers, total, info.kv_k_width, info.kv_v_width);
  std::vector<float> logits(info.vocab_size);

  const std::span<const int32_t> all(tokens);
  const double prefill = best_time(o.repeats, [&] {
    Batch batch;
    batch.seqs.push_back({all.subspan(0, o.prompt_tokens), 0, slots});
    model->forward(batch, kv, logits);
  });
  std::printf("prefill %d tokens: %.3f s, %.1f tok/s\n", o.prompt_tokens, prefill,
              o.prompt_tokens / prefill);

  double decode_best = 1e30;
  for (int r = 0; r < o.repeats; ++r) {
    const auto start = Clock::now();
    for (int64_t i = o.prompt_tokens; i < total; ++i) {
      Batch batch;
      batch.seqs.push_back({all.subspan(i, 1), i, slots});
      model->forward(batch, kv, logits);
    }
    decode_best = std::min(decode_best, seconds_since(start));
  }
  const double step = decode_best / o.decode_tokens;
  // KV read per step: the average context's K and V rows of every layer.
  const double kv_bytes = (o.prompt_tokens + o.decode_tokens / 2.0) * info.kv_bytes_per_token();
  const double achieved = (weight_bytes + kv_bytes) / step / 1e9;
  std::printf("decode batch 1 (context %d..%lld): %.2f ms/token, %.1f tok/s\n", o.prompt_tokens,
              static_cast<long long>(total), step * 1e3, 1.0 / step);
  std::printf(
      "decode streams %.1f MB weights + %.1f MB KV per token: %.1f GB/s = %.0f%% of copy "
      "bandwidth, %.0f%% of read bandwidth\n",
      weight_bytes / 1e6, kv_bytes / 1e6, achieved, 100 * achieved / bw.copy_gbs,
      100 * achieved / bw.read_gbs);
  return 0;
}

}  // namespace dpserve::engine
