-- Shared by every bench script (run.py prepends it): per-thread ids, status tally,
-- and a one-line JSON summary that run.py parses.
local threads = {}
statuses = {}
n = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function read_lines(path)
  local out = {}
  for line in io.lines(path) do
    if #line > 0 then table.insert(out, line) end
  end
  return out
end

-- This thread's share of a pool file: thread k of T takes lines k, k+T, ...
function thread_share(path, threads)
  local all, t, mine = read_lines(path), tonumber(threads), {}
  for i = tid + 1, #all, t do table.insert(mine, all[i]) end
  return mine
end

-- The next line of a share, cycling (the request counter n is bumped here).
function next_line(mine)
  n = n + 1
  return mine[(n - 1) % #mine + 1]
end

function done(summary, latency, requests)
  local codes = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do
      codes[tostring(k)] = (codes[tostring(k)] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(codes) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d},"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout, table.concat(parts, ",")))
end
