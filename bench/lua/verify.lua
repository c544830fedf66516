-- PATCH /api/evaluation/{id} with a code. Each line of the file is "eval_id code";
-- thread k of T takes lines k, k+T, ... in turn (right codes: each line once).
-- args: tag, api key, file, thread count
local tag, headers, mine = nil, nil, {}
function init(args)
  tag = args[1]
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2]}
  mine = thread_share(args[3], args[4])
end
function request()
  local line = next_line(mine)
  local id, code = line:match("^(%S+) (%S+)$")
  local body = string.format(
    '{"id":"%s-%d-%d","data":{"individual":{"otp":{"code":"%s"}}}}', tag, tid, n, code)
  return wrk.format("PATCH", "/api/evaluation/" .. id, headers, body)
end
