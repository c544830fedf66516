-- GET /bare on the floor app.
function request()
  return wrk.format("GET", "/bare")
end
