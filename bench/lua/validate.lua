-- POST /v1/otp/validate with a wrong code. Each line of the file is an otp_id;
-- thread k of T takes lines k, k+T, ... in turn.
-- args: tag, access token, file, thread count
local headers, mine = nil, {}
function init(args)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[2]}
  local all, t = read_lines(args[3]), tonumber(args[4])
  for i = tid + 1, #all, t do table.insert(mine, all[i]) end
end
function request()
  n = n + 1
  local otp_id = mine[(n - 1) % #mine + 1]
  local body = string.format('{"otp_id":"%s","code":"000000"}', otp_id)
  return wrk.format("POST", "/v1/otp/validate", headers, body)
end
