// Adds the DP-rank fields to a JSON object body without re-serialising it: the bytes are sent as
// [prefix, insertion, suffix], so the client's bytes (unknown fields included) reach the worker
// unchanged.
#pragma once

#include <string>
#include <string_view>

namespace dpserve::router {

struct Splice {
  std::string_view prefix;  // up to and including the object's '{'
  std::string insertion;    // "\"routed_dp_rank\":R,\"data_parallel_rank\":R" plus a ',' if needed
  std::string_view suffix;  // the rest
  size_t size() const { return prefix.size() + insertion.size() + suffix.size(); }
};

// `body` must be a JSON object (already validated by the extractor). Returns false otherwise.
bool splice_dp_rank(std::string_view body, int rank, Splice& out);

}  // namespace dpserve::router
