#include "bench/runner.h"

#include "common/http/beast.h"
#include "common/http/client.h"
#include "common/http/sse.h"

#include <cmath>
#include <cstdio>
#include <deque>
#include <memory>
#include <random>
#include <unistd.h>

namespace dpserve::bench {

namespace {

using namespace dpserve::http;
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// A counting semaphore for coroutines on one thread.
class Slots {
 public:
  explicit Slots(int capacity) : free_(capacity), capped_(capacity > 0) {}
  net::awaitable<void> acquire() {
    while (capped_ && free_ == 0) {
      auto timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor,
                                                       Clock::time_point::max());
      waiters_.push_back(timer);
      co_await timer->async_wait(kUse);
    }
    --free_;
  }
  void release() {
    ++free_;
    if (!waiters_.empty()) {
      waiters_.front()->cancel();
      waiters_.pop_front();
    }
  }

 private:
  int free_;
  bool capped_;
  std::deque<std::shared_ptr<net::steady_timer>> waiters_;
};

class Progress {
 public:
  Progress(size_t total, bool enabled) : total_(total), enabled_(enabled && total > 0) {
    tty_ = isatty(2) != 0;
  }
  void tick() {
    ++done_;
    if (!enabled_) return;
    auto now = Clock::now();
    bool last = done_ == total_;
    if (!last && now - shown_ < (tty_ ? std::chrono::milliseconds(100) : std::chrono::seconds(5))) {
      return;
    }
    shown_ = now;
    constexpr int kWidth = 40;
    int filled = static_cast<int>(kWidth * done_ / total_);
    std::fprintf(stderr, "%s[%.*s%*s] %zu/%zu requests%s", tty_ ? "\r" : "", filled,
                 "########################################", kWidth - filled, "", done_, total_,
                 tty_ && !last ? "" : "\n");
    std::fflush(stderr);
  }

 private:
  size_t total_;
  size_t done_ = 0;
  bool enabled_;
  bool tty_ = false;
  Clock::time_point shown_{};
};

class Runner {
 public:
  Runner(const BenchOptions& options, const std::string& model, Workload& workload,
         const Endpoint& endpoint, size_t total)
      : options_(options),
        model_(model),
        workload_(workload),
        endpoint_(endpoint),
        slots_(options.max_concurrency),
        progress_(total, !options.disable_progress),
        results_(workload.items.size()) {}

  net::awaitable<void> warm_up(int& failures) {
    if (workload_.units.empty()) co_return;
    const auto& first = workload_.items[static_cast<size_t>(workload_.units[0].stages[0].items[0])];
    for (int i = 0; i < options_.warmup_requests; ++i) {
      RequestSpec spec;
      spec.messages = {{"user", first.prompt}};
      spec.max_tokens = std::min(first.output_len, 32);
      spec.ignore_eos = !options_.disable_ignore_eos;
      spec.stream = !options_.disable_stream;
      RequestResult result;
      co_await send_guarded(spec, result, Clock::now());
      if (!result.success) {
        ++failures;
        std::fprintf(stderr, "dpserve bench: warm-up request failed: %s\n", result.error.c_str());
      }
    }
  }

  // Starts every unit at its Poisson arrival time and returns when all have finished.
  net::awaitable<void> run_all() {
    auto executor = co_await net::this_coro::executor;
    std::mt19937_64 rng(options_.seed ^ 0x9e3779b97f4a7c15ULL);
    std::exponential_distribution<double> gap(
        std::isinf(options_.request_rate) ? 1.0 : options_.request_rate);
    start_ = Clock::now();
    auto arrival = start_;
    net::steady_timer timer(executor);
    for (auto& unit : workload_.units) {
      if (!std::isinf(options_.request_rate)) {
        arrival +=
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(gap(rng)));
        timer.expires_at(arrival);
        co_await timer.async_wait(kUse);
      }
      net::co_spawn(executor, run_unit(unit), net::detached);
    }
  }

  std::vector<RequestResult>& results() { return results_; }
  Clock::time_point start() const { return start_; }
  Clock::time_point last_end() const { return last_end_; }

 private:
  net::awaitable<void> run_unit(const Unit& unit) {
    std::vector<Message> history;
    int history_tokens = 0;
    for (const auto& stage : unit.stages) {
      auto executor = co_await net::this_coro::executor;
      auto pending = std::make_shared<size_t>(stage.items.size());
      net::steady_timer all_done(executor, Clock::time_point::max());
      for (int index : stage.items) {
        auto& item = workload_.items[static_cast<size_t>(index)];
        RequestSpec spec;
        if (unit.conversation) {
          spec.messages = history;
          item.cacheable_tokens = history_tokens;
          item.prompt_tokens += history_tokens;
        }
        spec.messages.push_back({"user", item.prompt});
        spec.max_tokens = item.output_len;
        spec.ignore_eos = !options_.disable_ignore_eos;
        spec.stream = !options_.disable_stream;
        net::co_spawn(executor, run_one(index, std::move(spec), pending, &all_done), net::detached);
      }
      if (*pending > 0) co_await all_done.async_wait(kUse);
      if (unit.conversation) {
        auto index = static_cast<size_t>(stage.items[0]);
        const auto& item = workload_.items[index];
        const auto& answer = results_[index];
        history.push_back({"user", item.prompt});
        history.push_back({"assistant", answer.text});
        history_tokens = item.prompt_tokens + answer.output_tokens;
      }
    }
  }

  net::awaitable<void> run_one(int index, RequestSpec spec, std::shared_ptr<size_t> pending,
                               net::steady_timer* all_done) {
    co_await slots_.acquire();
    RequestResult result;
    result.item = index;
    auto begin = Clock::now();
    result.start = seconds_between(start_, begin);
    co_await send_guarded(spec, result, begin);
    slots_.release();
    const auto& item = workload_.items[static_cast<size_t>(index)];
    if (result.prompt_tokens <= 0) result.prompt_tokens = item.prompt_tokens;
    last_end_ = std::max(last_end_, Clock::now());
    results_[static_cast<size_t>(index)] = std::move(result);
    progress_.tick();
    if (--*pending == 0) all_done->cancel();
  }

  // A request that throws still ends as a failure: spawned detached, an escaping exception would
  // vanish and leave its unit waiting forever (the whole run hung on invalid UTF-8 in a prompt).
  net::awaitable<void> send_guarded(const RequestSpec& spec, RequestResult& result,
                                    Clock::time_point begin) {
    std::string failure;
    try {
      co_await send(spec, result, begin);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      result.success = false;
      result.error = "bench: " + failure;
      result.latency = seconds_between(begin, Clock::now());
    }
  }

  // One request: fills `result`.
  net::awaitable<void> send(const RequestSpec& spec, RequestResult& result,
                            Clock::time_point begin) {
    bhttp::request<bhttp::string_body> request{
        bhttp::verb::post, endpoint_.path_prefix + request_path(options_.backend), 11};
    request.set(bhttp::field::host, endpoint_.host_header);
    request.set(bhttp::field::content_type, "application/json");
    if (!options_.api_key.empty()) {
      request.set(bhttp::field::authorization, "Bearer " + options_.api_key);
    }
    request.body() = request_body(options_.backend, model_, spec);
    request.prepare_payload();

    auto& pool = ConnectionPool::local();
    for (int attempt = 0; attempt < 2; ++attempt) {
      error_code ec;
      auto connection = co_await pool.acquire(endpoint_, ec);
      if (!connection) {
        result.error = "connect: " + ec.message();
        co_return;
      }
      bool reused = connection->reused;
      Outcome outcome;
      co_await exchange(*connection, request, spec, result, begin, outcome);
      // A parked connection the server closed in the meantime: retry once on a fresh one.
      if (outcome.ec && reused && !outcome.got_bytes && outcome.ec != beast::error::timeout) {
        continue;
      }
      if (outcome.reusable) pool.release(endpoint_, std::move(connection));
      if (outcome.ec) result.error = outcome.ec.message();
      co_return;
    }
  }

  struct Outcome {
    error_code ec;           // transport error
    bool got_bytes = false;  // any response byte arrived
    bool reusable = false;   // the response ended cleanly and allows keep-alive
  };

  net::awaitable<void> exchange(Connection& connection, bhttp::request<bhttp::string_body>& request,
                                const RequestSpec& spec, RequestResult& result,
                                Clock::time_point begin, Outcome& outcome) {
    auto& stream = connection.socket;
    connection.deadline.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(options_.request_timeout_secs)));
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, kUse);
    if (write_ec) {
      outcome.ec = connection.deadline.map(write_ec);
      co_return;
    }
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    auto [head_ec, head_n] =
        co_await bhttp::async_read_header(stream, connection.buffer, parser, kUse);
    outcome.got_bytes = parser.got_some();
    if (head_ec) {
      outcome.ec = connection.deadline.map(head_ec);
      co_return;
    }
    result.status = static_cast<int>(parser.get().result_int());
    bool event_stream = parser.get()[bhttp::field::content_type].starts_with("text/event-stream");
    StreamParser events(options_.backend);
    SseSplitter splitter;
    std::string body;
    Clock::time_point last_chunk{};
    int chunks = 0;
    ChunkInfo totals;
    std::string stream_error;
    auto take = [&](const ChunkInfo& info) {
      auto now = Clock::now();
      if (!info.text.empty()) {
        if (chunks == 0) {
          result.ttft = seconds_between(begin, now);
        } else {
          result.itl.push_back(seconds_between(last_chunk, now));
        }
        last_chunk = now;
        ++chunks;
        result.text += info.text;
      }
      if (info.prompt_tokens >= 0) totals.prompt_tokens = info.prompt_tokens;
      if (info.completion_tokens >= 0) totals.completion_tokens = info.completion_tokens;
      if (info.cached_tokens >= 0) totals.cached_tokens = info.cached_tokens;
      if (!info.error.empty()) stream_error = info.error;
    };
    char buffer[16384];
    while (!parser.is_done()) {
      parser.get().body().data = buffer;
      parser.get().body().size = sizeof buffer;
      // read_some: async_read would return only once the buffer is full or the message ends,
      // so every event of a short stream would carry the response's end time (TTFT == E2E).
      auto [read_ec, n] = co_await bhttp::async_read_some(stream, connection.buffer, parser, kUse);
      if (read_ec == bhttp::error::need_buffer) read_ec = {};
      if (read_ec) {
        outcome.ec = connection.deadline.map(read_ec);
        co_return;
      }
      std::string_view bytes(buffer, sizeof buffer - parser.get().body().size);
      if (!event_stream || result.status != 200) {
        body.append(bytes);
        continue;
      }
      for (const auto& event : splitter.feed(bytes)) {
        auto data = sse_data(event);
        if (!data.empty()) take(events.feed(data));
      }
    }
    connection.deadline.expires_never();
    result.latency = seconds_between(begin, Clock::now());
    outcome.reusable = parser.get().keep_alive() && !parser.need_eof();
    if (result.status != 200) {
      result.rejected = result.status == 429 || result.status == 503;
      result.error = "HTTP " + std::to_string(result.status) + ": " + body.substr(0, 200);
      co_return;
    }
    if (!event_stream) {
      auto info = parse_response(options_.backend, body);
      take(info);
      if (info.text.empty() && !spec.stream) result.ttft = result.latency;
    }
    result.prompt_tokens = std::max(totals.prompt_tokens, 0);
    result.output_tokens = totals.completion_tokens >= 0 ? totals.completion_tokens : chunks;
    result.cached_tokens = totals.cached_tokens;
    if (!stream_error.empty()) {
      result.error = "stream error: " + stream_error;
    } else if (chunks == 0 && spec.max_tokens > 0 && result.output_tokens == 0) {
      result.error = "no output";
    } else {
      result.success = true;
      if (chunks == 0) result.ttft = result.latency;
    }
  }

  const BenchOptions& options_;
  const std::string& model_;
  Workload& workload_;
  Endpoint endpoint_;
  Slots slots_;
  Progress progress_;
  std::vector<RequestResult> results_;  // by item index; item < 0: never sent
  Clock::time_point start_{};
  Clock::time_point last_end_{};
};

}  // namespace

int warm_up(const BenchOptions& options, const std::string& model, Workload& workload) {
  std::string error;
  auto endpoint = parse_endpoint(options.base_url, error);
  BenchOptions quiet = options;
  quiet.disable_progress = true;
  Runner runner(quiet, model, workload, *endpoint, 0);
  int failures = 0;
  net::io_context io;
  net::co_spawn(io, runner.warm_up(failures), net::detached);
  io.run();
  // Pooled connections belong to this io_context: none may outlive it.
  ConnectionPool::local().forget(*endpoint);
  return failures;
}

RunOutput run_workload(const BenchOptions& options, const std::string& model, Workload& workload) {
  std::string error;
  auto endpoint = parse_endpoint(options.base_url, error);
  size_t total = 0;
  for (const auto& unit : workload.units) {
    for (const auto& stage : unit.stages) total += stage.items.size();
  }
  Runner runner(options, model, workload, *endpoint, total);
  net::io_context io;
  net::co_spawn(io, runner.run_all(), net::detached);
  io.run();
  ConnectionPool::local().forget(*endpoint);
  RunOutput out;
  for (auto& result : runner.results()) {
    if (result.item >= 0) out.results.push_back(std::move(result));
  }
  out.duration = seconds_between(runner.start(), runner.last_end());
  if (out.duration <= 0) out.duration = 1e-9;
  return out;
}

}  // namespace dpserve::bench
