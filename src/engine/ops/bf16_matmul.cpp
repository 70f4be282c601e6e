#include "engine/ops/bf16_matmul.h"

#include "engine/loader/dtype.h"

#include <dnnl.hpp>

#include <dlfcn.h>
#include <stdexcept>
#include <string>

namespace dpserve::engine {

using dnnl::matmul;
using dnnl::memory;
using Dt = memory::data_type;
using Tag = memory::format_tag;

struct Bf16Matmul::Impl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t>, matmul> cache;
  std::vector<uint16_t> src_bf16;

  matmul& primitive(int64_t m, int64_t n, int64_t k) {
    auto key = std::make_tuple(m, n, k);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    // Prefill chunk sizes vary; keep the cache bounded.
    if (cache.size() > 512) cache.clear();
    memory::desc src({m, k}, Dt::bf16, Tag::ab);
    // W is [n, k] row-major, i.e. the {k, n} matrix in "ba" order: no reorder needed.
    memory::desc wei({k, n}, Dt::bf16, Tag::ba);
    memory::desc dst({m, n}, Dt::f32, Tag::ab);
    matmul::desc desc(src, wei, dst);
    matmul::primitive_desc pd(desc, engine);
    return cache.emplace(key, matmul(pd)).first->second;
  }
};

Bf16Matmul::Bf16Matmul(int threads) : impl_(std::make_unique<Impl>()) {
  // oneDNN on bookworm runs on OpenMP; size its team without linking libgomp ourselves.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"))) {
    fn(threads);
  }
  try {
    impl_->primitive(1, 16, 16);
  } catch (const dnnl::error& e) {
    throw std::invalid_argument(std::string("bf16 compute is not available on this CPU: ") +
                                e.what());
  }
}

Bf16Matmul::~Bf16Matmul() = default;

void Bf16Matmul::prepare(LinearWeight& weight) {
  if (weight.dtype != DType::kBF16 || weight.bf16.size() != size_t(weight.out * weight.in)) {
    throw std::invalid_argument("bf16 matmul: weight is not a bf16 [out, in] matrix");
  }
}

void Bf16Matmul::run(const float* x, int64_t m, const LinearWeight& w, float* y) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const size_t n_src = static_cast<size_t>(m * w.in);
  impl_->src_bf16.resize(n_src);
  for (size_t i = 0; i < n_src; ++i) impl_->src_bf16[i] = f32_to_bf16(x[i]);
  matmul& prim = impl_->primitive(m, w.out, w.in);
  memory src({{m, w.in}, Dt::bf16, Tag::ab}, impl_->engine, impl_->src_bf16.data());
  memory wei({{w.in, w.out}, Dt::bf16, Tag::ba}, impl_->engine,
             const_cast<uint16_t*>(w.bf16.data()));
  memory dst({{m, w.out}, Dt::f32, Tag::ab}, impl_->engine, y);
  prim.execute(impl_->stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}});
  impl_->stream.wait();
}

}  // namespace dpserve::engine
