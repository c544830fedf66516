-- POST /write on the floor app: one INSERT + one UPDATE per request. args: tag
local tag
function init(args) tag = args[1] end
function request()
  n = n + 1
  return wrk.format("POST", "/write", {["Content-Type"] = "application/json"},
    string.format('{"id":"%s-%d-%d"}', tag, tid, n))
end
