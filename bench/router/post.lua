-- wrk script for the router overhead benchmark: POST /generate with prompts of a fixed size.
-- Usage: wrk ... -s post.lua URL -- PROMPT_BYTES [PATH]
-- Half of the prebuilt requests share one of four long prefixes (3/4 of the prompt), half are
-- unique, so cache_aware sees both hits and misses. Bodies are built once in init() so wrk's
-- request() costs nothing per request.

local kRequests = 64
local kGroups = 4
local requests = {}
local next_index = 1

local function random_text(n)
  local parts = {}
  for i = 1, n do
    parts[i] = string.char(97 + math.random(0, 25))
  end
  return table.concat(parts)
end

function init(args)
  local size = tonumber(args[1] or "2048")
  local path = args[2] or "/generate"
  local prefix_len = math.floor(size * 3 / 4)
  local prefixes = {}
  -- Same prefixes in every run and thread; unique suffixes differ between runs.
  math.randomseed(size)
  for g = 1, kGroups do
    prefixes[g] = random_text(prefix_len)
  end
  math.randomseed(size * 7919 + os.time() % 1000)
  local headers = {["Content-Type"] = "application/json"}
  for i = 1, kRequests do
    local prompt
    if i % 2 == 0 then
      prompt = prefixes[math.floor(i / 2) % kGroups + 1] .. random_text(size - prefix_len)
    else
      prompt = random_text(size)
    end
    local body = '{"text":"' .. prompt .. '","sampling_params":{"max_new_tokens":1}}'
    requests[i] = wrk.format("POST", path, headers, body)
  end
  next_index = math.random(1, kRequests)
end

function request()
  local r = requests[next_index]
  next_index = next_index % kRequests + 1
  return r
end

-- One JSON line on stdout; the driver script greps for the RESULT marker.
function done(summary, latency, _)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"req_per_s":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"mean_us":%.1f,"max_us":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d,"bytes":%d}\n',
    summary.requests, secs, summary.requests / secs, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency.mean, latency.max, e.connect, e.read,
    e.write, e.status, e.timeout, summary.bytes))
end
