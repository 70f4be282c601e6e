#include "bench/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace dpserve::bench {

namespace {

using nlohmann::ordered_json;

ordered_json distribution_json(const Distribution& d) {
  return {{"mean_ms", d.mean * 1e3},
          {"median_ms", d.median * 1e3},
          {"p90_ms", d.p90 * 1e3},
          {"p99_ms", d.p99 * 1e3},
          {"max_ms", d.max * 1e3}};
}

void section(std::string& out, const char* title, const char* key, const Distribution& d) {
  out += fmt::format("{:-^50}\n", title);
  out += fmt::format("{:<40}{:>10.2f}\n", fmt::format("Mean {} (ms):", key), d.mean * 1e3);
  out += fmt::format("{:<40}{:>10.2f}\n", fmt::format("Median {} (ms):", key), d.median * 1e3);
  out += fmt::format("{:<40}{:>10.2f}\n", fmt::format("P90 {} (ms):", key), d.p90 * 1e3);
  out += fmt::format("{:<40}{:>10.2f}\n", fmt::format("P99 {} (ms):", key), d.p99 * 1e3);
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = q * static_cast<double>(sorted.size() - 1);
  auto low = static_cast<size_t>(std::floor(rank));
  auto high = std::min(low + 1, sorted.size() - 1);
  double frac = rank - static_cast<double>(low);
  return sorted[low] + (sorted[high] - sorted[low]) * frac;
}

Distribution summarize(std::vector<double> values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  d.median = percentile(values, 0.5);
  d.p90 = percentile(values, 0.9);
  d.p99 = percentile(values, 0.99);
  d.max = values.back();
  return d;
}

Summary summarize_run(const RunOutput& run, const ServerStats& server, double oracle) {
  Summary s;
  s.duration = run.duration;
  s.server = server;
  s.oracle_hit_rate = oracle;
  std::vector<double> ttft, itl, tpot, e2e;
  double latency_sum = 0;
  int64_t reported_cached = 0, reported_prompt = 0;
  bool cache_reported = false;
  std::set<std::string> errors;
  for (const auto& r : run.results) {
    if (!r.success) {
      (r.rejected ? s.rejected : s.failed) += 1;
      if (errors.size() < 5) errors.insert(r.error);
      continue;
    }
    ++s.completed;
    s.input_tokens += r.prompt_tokens;
    s.output_tokens += r.output_tokens;
    ttft.push_back(r.ttft);
    e2e.push_back(r.latency);
    latency_sum += r.latency;
    itl.insert(itl.end(), r.itl.begin(), r.itl.end());
    if (r.output_tokens > 1) tpot.push_back((r.latency - r.ttft) / (r.output_tokens - 1));
    if (r.cached_tokens >= 0) {
      cache_reported = true;
      reported_cached += r.cached_tokens;
      reported_prompt += r.prompt_tokens;
    }
  }
  s.errors.assign(errors.begin(), errors.end());
  double d = std::max(s.duration, 1e-9);
  s.request_throughput = static_cast<double>(s.completed) / d;
  s.input_throughput = static_cast<double>(s.input_tokens) / d;
  s.output_throughput = static_cast<double>(s.output_tokens) / d;
  s.total_throughput = s.input_throughput + s.output_throughput;
  s.concurrency = latency_sum / d;
  s.ttft = summarize(std::move(ttft));
  s.itl = summarize(std::move(itl));
  s.tpot = summarize(std::move(tpot));
  s.e2e = summarize(std::move(e2e));
  if (cache_reported && reported_prompt > 0) {
    s.client_cache_hit_rate =
        static_cast<double>(reported_cached) / static_cast<double>(reported_prompt);
  }
  return s;
}

std::string format_report(const BenchOptions& options, const std::string& model, const Summary& s) {
  std::string out;
  auto line = [&out](const std::string& key, const std::string& value) {
    out += fmt::format("{:<40}{:>10}\n", key, value);
  };
  auto num = [](double v, int digits = 2) { return fmt::format("{:.{}f}", v, digits); };
  auto rate = [&](std::optional<double> v) { return v ? num(*v * 100, 1) + "%" : "n/a"; };
  out += fmt::format("\n{:=^50}\n", " Serving Benchmark Result ");
  line("Backend:", backend_name(options.backend));
  line("Dataset:", dataset_name(options.dataset));
  if (!model.empty()) line("Model:", model);
  line("Traffic request rate:",
       std::isinf(options.request_rate) ? "inf" : num(options.request_rate));
  line("Max request concurrency:",
       options.max_concurrency > 0 ? std::to_string(options.max_concurrency) : "not set");
  line("Successful requests:", std::to_string(s.completed));
  line("Failed requests:", std::to_string(s.failed));
  line("Rejected requests (429/503):", std::to_string(s.rejected));
  line("Benchmark duration (s):", num(s.duration));
  line("Total input tokens:", std::to_string(s.input_tokens));
  line("Total generated tokens:", std::to_string(s.output_tokens));
  line("Request throughput (req/s):", num(s.request_throughput));
  line("Input token throughput (tok/s):", num(s.input_throughput));
  line("Output token throughput (tok/s):", num(s.output_throughput));
  line("Total token throughput (tok/s):", num(s.total_throughput));
  line("Concurrency:", num(s.concurrency));
  line("Server cache hit rate:", rate(s.server.cache_hit_rate));
  if (s.client_cache_hit_rate) line("Cache hit rate (responses):", rate(s.client_cache_hit_rate));
  line("Oracle cache hit rate:", rate(s.oracle_hit_rate));
  section(out, "End-to-End Latency", "E2E Latency", s.e2e);
  section(out, "Time to First Token", "TTFT", s.ttft);
  section(out, "Time per Output Token (excl. 1st token)", "TPOT", s.tpot);
  section(out, "Inter-token Latency", "ITL", s.itl);
  if (!s.server.workers.empty()) {
    out += fmt::format("{:-^50}\n", fmt::format("Per-worker share ({})", s.server.share_source));
    for (const auto& w : s.server.workers) {
      out += fmt::format("{:<40}{:>9.1f}%\n", w.url, w.share * 100);
    }
  }
  for (const auto& error : s.errors) out += "error: " + error + "\n";
  out += fmt::format("{:=^50}\n", "");
  return out;
}

ordered_json to_json(const BenchOptions& options, const std::string& model, const Summary& s,
                     const RunOutput& run) {
  ordered_json j;
  j["label"] = options.label;
  j["backend"] = backend_name(options.backend);
  j["dataset_name"] = dataset_name(options.dataset);
  j["base_url"] = options.base_url;
  j["model"] = model;
  j["request_rate"] =
      std::isinf(options.request_rate) ? ordered_json("inf") : ordered_json(options.request_rate);
  j["max_concurrency"] = options.max_concurrency;
  j["seed"] = options.seed;
  if (options.dataset == DatasetKind::kGeneratedSharedPrefix) {
    j["gsp_num_groups"] = options.gsp.num_groups;
    j["gsp_prompts_per_group"] = options.gsp.prompts_per_group;
    j["gsp_system_prompt_len"] = options.gsp.system_prompt_len;
    j["gsp_question_len"] = options.gsp.question_len;
    j["gsp_output_len"] = options.gsp.output_len;
  }
  j["num_requests"] = run.results.size();
  j["completed"] = s.completed;
  j["failed"] = s.failed;
  j["rejected"] = s.rejected;
  j["duration"] = s.duration;
  j["total_input_tokens"] = s.input_tokens;
  j["total_output_tokens"] = s.output_tokens;
  j["request_throughput"] = s.request_throughput;
  j["input_throughput"] = s.input_throughput;
  j["output_throughput"] = s.output_throughput;
  j["total_throughput"] = s.total_throughput;
  j["concurrency"] = s.concurrency;
  j["ttft"] = distribution_json(s.ttft);
  j["itl"] = distribution_json(s.itl);
  j["tpot"] = distribution_json(s.tpot);
  j["e2e_latency"] = distribution_json(s.e2e);
  j["server_cache_hit_rate"] =
      s.server.cache_hit_rate ? ordered_json(*s.server.cache_hit_rate) : ordered_json(nullptr);
  j["server_cache_hit_source"] = s.server.cache_hit_source;
  j["client_cache_hit_rate"] =
      s.client_cache_hit_rate ? ordered_json(*s.client_cache_hit_rate) : ordered_json(nullptr);
  j["oracle_cache_hit_rate"] = s.oracle_hit_rate;
  ordered_json workers = ordered_json::array();
  for (const auto& w : s.server.workers) {
    workers.push_back({{"url", w.url}, {"requests", w.requests}, {"share", w.share}});
  }
  j["worker_share"] = std::move(workers);
  j["worker_share_source"] = s.server.share_source;
  j["errors"] = s.errors;
  if (options.output_details) {
    ordered_json details = ordered_json::array();
    for (const auto& r : run.results) {
      details.push_back({{"success", r.success},
                         {"rejected", r.rejected},
                         {"status", r.status},
                         {"error", r.error},
                         {"start", r.start},
                         {"prompt_tokens", r.prompt_tokens},
                         {"output_tokens", r.output_tokens},
                         {"cached_tokens", r.cached_tokens},
                         {"ttft", r.ttft},
                         {"latency", r.latency},
                         {"itl", r.itl},
                         {"generated_text", r.text}});
    }
    j["details"] = std::move(details);
  }
  return j;
}

std::string render_svg(const BenchOptions& options, const Summary& s, const RunOutput& run) {
  constexpr double kW = 900, kH = 380, kLeft = 60, kTop = 40, kPlotW = 480, kPlotH = 280;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      kW, kH);
  svg += fmt::format(
      "<text x=\"{}\" y=\"20\" font-size=\"14\">{}</text>\n", kLeft,
      xml_escape(fmt::format("dpserve bench: {} on {}{}{}", dataset_name(options.dataset),
                             options.base_url, options.label.empty() ? "" : " - ", options.label)));
  // Latency CDFs on a log-scaled millisecond axis: ITL and E2E differ by orders of magnitude.
  std::vector<std::pair<std::string, std::vector<double>>> series(3);
  series[0].first = "TTFT";
  series[1].first = "ITL";
  series[2].first = "E2E";
  for (const auto& r : run.results) {
    if (!r.success) continue;
    series[0].second.push_back(r.ttft * 1e3);
    series[2].second.push_back(r.latency * 1e3);
    for (double v : r.itl) series[1].second.push_back(v * 1e3);
  }
  double lo = 1e18, hi = 0;
  for (auto& [name, values] : series) {
    std::sort(values.begin(), values.end());
    for (double v : values) {
      if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", kLeft,
      kTop, kPlotW, kPlotH);
  svg += fmt::format("<text x=\"{}\" y=\"{}\">latency (ms, log scale)</text>\n",
                     kLeft + kPlotW / 2 - 60, kTop + kPlotH + 34);
  svg += fmt::format("<text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\">CDF</text>\n",
                     kTop + kPlotH / 2, kTop + kPlotH / 2);
  if (hi > 0) {
    double lmin = std::floor(std::log10(lo)), lmax = std::ceil(std::log10(hi));
    if (lmax <= lmin) lmax = lmin + 1;
    auto x_of = [&](double v) {
      return kLeft + (std::log10(std::max(v, lo)) - lmin) / (lmax - lmin) * kPlotW;
    };
    for (double e = lmin; e <= lmax; e += 1) {
      double x = kLeft + (e - lmin) / (lmax - lmin) * kPlotW;
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#ddd\"/>"
          "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
          x, kTop, kTop + kPlotH, kTop + kPlotH + 16, fmt::format("{:g}", std::pow(10.0, e)));
    }
    for (int q = 0; q <= 4; ++q) {
      double y = kTop + kPlotH - q * kPlotH / 4;
      svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.2f}</text>\n",
                         kLeft - 4, y + 4, q / 4.0);
    }
    const char* colors[] = {"#1f77b4", "#2ca02c", "#d62728"};
    for (size_t i = 0; i < series.size(); ++i) {
      const auto& values = series[i].second;
      if (values.empty()) continue;
      std::string points;
      // At most ~500 points per curve keeps the file small.
      size_t step = std::max<size_t>(1, values.size() / 500);
      for (size_t k = 0; k < values.size(); k += step) {
        double y = kTop + kPlotH - (static_cast<double>(k + 1) / values.size()) * kPlotH;
        points += fmt::format("{:.1f},{:.1f} ", x_of(values[k]), y);
      }
      points += fmt::format("{:.1f},{:.1f}", x_of(values.back()), kTop);
      svg +=
          fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                      colors[i], points);
      svg +=
          fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{} (p50 {:.1f} ms)</text>\n", kLeft + 8,
                      kTop + 16 + 16 * i, colors[i], series[i].first, percentile(values, 0.5));
    }
  }
  // Per-worker share bars.
  double bx = kLeft + kPlotW + 60, bw = kW - bx - 20;
  svg += fmt::format("<text x=\"{}\" y=\"{}\">requests per worker ({})</text>\n", bx, kTop - 6,
                     xml_escape(s.server.share_source.empty() ? "n/a" : s.server.share_source));
  double bar_h = s.server.workers.empty()
                     ? 0
                     : std::min(28.0, kPlotH / static_cast<double>(s.server.workers.size()) - 6);
  for (size_t i = 0; i < s.server.workers.size(); ++i) {
    const auto& w = s.server.workers[i];
    double y = kTop + i * (bar_h + 6);
    svg += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#9467bd\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\">{:.1f}% {}</text>\n",
        bx, y, std::max(1.0, w.share * (bw - 40)), bar_h, bx + 4, y + bar_h / 2 + 4, w.share * 100,
        xml_escape(
            w.url.substr(w.url.find("://") == std::string::npos ? 0 : w.url.find("://") + 3)));
  }
  auto hit = s.server.cache_hit_rate;
  svg +=
      fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", bx, kTop + kPlotH + 16,
                  xml_escape(fmt::format(
                      "{:.1f} tok/s, cache hit {}, oracle {:.1f}%", s.total_throughput,
                      hit ? fmt::format("{:.1f}%", *hit * 100) : "n/a", s.oracle_hit_rate * 100)));
  svg += "</svg>\n";
  return svg;
}

}  // namespace dpserve::bench
