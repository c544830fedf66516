-- GET /api/evaluation/{id}, cycling through the ids of the file ("eval_id code" lines).
-- args: tag, api key, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Authorization"] = "Bearer " .. args[2]}
  for _, line in ipairs(thread_share(args[3], args[4])) do
    table.insert(mine, (line:match("^(%S+)")))
  end
end
function request()
  return wrk.format("GET", "/api/evaluation/" .. next_line(mine), headers)
end
