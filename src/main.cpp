// dpserve: one binary, thin dispatch to the subcommands. Each subcommand lives in its component's
// library and exposes `int NAME_main(int argc, char** argv)` (argv[0] is the subcommand name).
#include "bench/bench_main.h"
#include "engine/api/engine_main.h"
#include "engine/model/model_main.h"
#include "launcher/serve_main.h"
#include "router/router_main.h"

#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

struct Subcommand {
  const char* name;
  const char* summary;
  int (*main)(int argc, char** argv);
};

constexpr Subcommand kSubcommands[] = {
    {"router", "the cache-aware gateway in front of workers", dpserve::router::router_main},
    {"version", "print the version",
     [](int, char**) {
       std::printf("dpserve 0.1.0\n");
       return 0;
     }},
    {"engine", "inference server (paged KV, radix cache, continuous batching, native DP)",
     dpserve::engine::engine_main},
    {"model", "create or inspect checkpoints", dpserve::engine::model_main},
    {"bench", "load generator and serving benchmark", dpserve::bench::bench_main},
    {"serve", "N engine workers plus the router, supervised", dpserve::launcher::serve_main},
};

void print_usage(std::FILE* out) {
  std::fprintf(out, "usage: dpserve <subcommand> [flags]\n\nsubcommands:\n");
  for (const auto& sub : kSubcommands) std::fprintf(out, "  %-10s %s\n", sub.name, sub.summary);
  std::fprintf(out, "\n'dpserve <subcommand> --help' lists the flags of one subcommand.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  std::string_view name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") name = "version";
  for (const auto& sub : kSubcommands) {
    if (name == sub.name) return sub.main(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "dpserve: unknown subcommand '%s'\n\n", argv[1]);
  print_usage(stderr);
  return 2;
}
