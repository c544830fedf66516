-- POST /api/evaluation: a unique request id and a random valid US number each time
-- (8 million possible numbers, so the 5 sends/min/destination limit never bites).
-- args: tag, api key
local tag, headers
function init(args)
  tag = args[1]
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2]}
  math.randomseed(os.time() * 1000 + tid * 7919)
end
function request()
  n = n + 1
  local body = string.format(
    '{"id":"%s-%d-%d","workflow":"otp_verification","data":{"individual":' ..
    '{"phone_number":"+1415%07d"}}}', tag, tid, n, math.random(2000000, 9999999))
  return wrk.format("POST", "/api/evaluation", headers, body)
end
