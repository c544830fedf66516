-- GET /api/evaluation/{id}, cycling through the ids of the file ("eval_id code" lines).
-- args: tag, api key, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Authorization"] = "Bearer " .. args[2]}
  local all, t = read_lines(args[3]), tonumber(args[4])
  for i = tid + 1, #all, t do table.insert(mine, (all[i]:match("^(%S+)"))) end
end
function request()
  n = n + 1
  return wrk.format("GET", "/api/evaluation/" .. mine[(n - 1) % #mine + 1], headers)
end
