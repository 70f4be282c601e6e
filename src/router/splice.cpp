#include "router/splice.h"

namespace dpserve::router {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool splice_dp_rank(std::string_view body, int rank, Splice& out) {
  size_t open = 0;
  while (open < body.size() && is_space(body[open])) ++open;
  if (open == body.size() || body[open] != '{') return false;
  size_t next = open + 1;
  while (next < body.size() && is_space(body[next])) ++next;
  if (next == body.size()) return false;
  bool empty_object = body[next] == '}';
  // Ours go first: JSON readers that keep the last duplicate let an explicit client value win.
  std::string r = std::to_string(rank);
  out.insertion.clear();
  out.insertion.append("\"routed_dp_rank\":").append(r);
  out.insertion.append(",\"data_parallel_rank\":").append(r);
  if (!empty_object) out.insertion += ',';
  out.prefix = body.substr(0, open + 1);
  out.suffix = body.substr(open + 1);
  return true;
}

}  // namespace dpserve::router
