#include "bench/bench_main.h"

#include "bench/api_format.h"
#include "bench/bench_options.h"
#include "bench/dataset.h"
#include "bench/report.h"
#include "bench/runner.h"
#include "bench/server_stats.h"
#include "bench/text_source.h"

#include <cstdio>
#include <fstream>
#include <memory>

namespace dpserve::bench {

int bench_main(int argc, char** argv) {
  BenchOptions options;
  auto parsed = parse_bench_options(argc, argv, options);
  if (!parsed.run) {
    std::fprintf(parsed.exit_code == 0 ? stdout : stderr, "%s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  std::unique_ptr<TextSource> text;
  try {
    text = std::make_unique<TextSource>(options.tokenizer);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpserve bench: --tokenizer %s: %s\n", options.tokenizer.c_str(),
                 e.what());
    return 2;
  }
  ServerProbe probe(options);
  std::string model = options.model;
  if (model.empty() && options.backend != Backend::kSglang) model = probe.default_model();
  Workload workload = make_workload(options, *text);
  size_t requests = 0;
  for (const auto& unit : workload.units) {
    for (const auto& stage : unit.stages) requests += stage.items.size();
  }
  std::fprintf(stderr, "dpserve bench: %s, %zu requests, %lld prompt tokens (%s) against %s\n",
               dataset_name(options.dataset), requests,
               static_cast<long long>(workload.total_prompt_tokens()),
               text->exact() ? "tokenizer" : "~words", options.base_url.c_str());
  if (options.warmup_requests > 0 && warm_up(options, model, workload) == options.warmup_requests) {
    std::fprintf(stderr, "dpserve bench: every warm-up request failed; is the server up at %s?\n",
                 options.base_url.c_str());
    return 1;
  }
  if (options.flush_cache) {
    std::string error;
    if (!probe.flush_cache(error)) {
      std::fprintf(stderr, "dpserve bench: --flush-cache failed: %s\n", error.c_str());
      return 1;
    }
  }
  probe.discover_workers();
  auto before = probe.snapshot();
  auto run = run_workload(options, model, workload);
  auto after = probe.snapshot();
  auto stats = diff_snapshots(before, after);
  auto summary =
      summarize_run(run, stats, oracle_hit_rate(workload, options.oracle_capacity_tokens));
  std::printf("%s", format_report(options, model, summary).c_str());
  std::fflush(stdout);
  if (!options.output_file.empty()) {
    std::ofstream out(options.output_file, std::ios::app);
    out << dump_lossy(to_json(options, model, summary, run)) << "\n";
    if (!out) {
      std::fprintf(stderr, "dpserve bench: cannot write %s\n", options.output_file.c_str());
      return 1;
    }
  }
  if (!options.plot_file.empty()) {
    std::ofstream out(options.plot_file, std::ios::trunc);
    out << render_svg(options, summary, run);
    if (!out) {
      std::fprintf(stderr, "dpserve bench: cannot write %s\n", options.plot_file.c_str());
      return 1;
    }
  }
  return requests > 0 && summary.completed == 0 ? 1 : 0;
}

}  // namespace dpserve::bench
