-- POST /process/continue with a wrong code. Each line of the file is a continuation token.
-- args: tag, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Content-Type"] = "application/json"}
  mine = thread_share(args[2], args[3])
end
function request()
  local body = string.format('{"token":"%s","codematch":{"key":"000000"}}', next_line(mine))
  return wrk.format("POST", "/process/continue", headers, body)
end
