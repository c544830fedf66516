-- POST /v1/otp/validate with a wrong code. Each line of the file is an otp_id.
-- args: tag, access token, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2]}
  mine = thread_share(args[3], args[4])
end
function request()
  local body = string.format('{"otp_id":"%s","code":"000000"}', next_line(mine))
  return wrk.format("POST", "/v1/otp/validate", headers, body)
end
