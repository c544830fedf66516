-- POST /process/continue with a wrong code. Each line of the file is a continuation token;
-- thread k of T takes lines k, k+T, ... in turn.
-- args: tag, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Content-Type"] = "application/json"}
  local all, t = read_lines(args[2]), tonumber(args[3])
  for i = tid + 1, #all, t do table.insert(mine, all[i]) end
end
function request()
  n = n + 1
  local token = mine[(n - 1) % #mine + 1]
  local body = string.format('{"token":"%s","codematch":{"key":"000000"}}', token)
  return wrk.format("POST", "/process/continue", headers, body)
end
