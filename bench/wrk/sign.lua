-- POST /sign with the session cookie and CSRF token of one real visit and a new email each time.
-- COOKIE and TOKEN come from the environment (bench/http.py fetches them first).
local cookie = os.getenv("BENCH_COOKIE")
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function request()
  counter = counter + 1
  local body = "name=Bench+Signer&postal_code=K1A+0B1&country=CA&csrf_token=" .. token ..
               "&email=bench" .. tid .. "x" .. counter .. "%40example.org"
  return wrk.format("POST", "/sign", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["Referer"] = wrk.scheme .. "://" .. wrk.host .. ":" .. wrk.port .. "/",
  }, body)
end
