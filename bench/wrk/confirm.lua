-- POST /confirm/<token> for pending signatures, each token once, with a real session and CSRF token.
-- BENCH_TOKENS_FILE holds one confirmation token per line (bench/http.py writes it).
local cookie = os.getenv("BENCH_COOKIE")
local token = os.getenv("BENCH_TOKEN")
local links = {}
for line in io.lines(os.getenv("BENCH_TOKENS_FILE")) do links[#links + 1] = line end
local thread_id = 0
local threads = tonumber(os.getenv("BENCH_THREADS"))
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

local next_index = nil

function request()
  if next_index == nil then next_index = offset + tid end
  local link = links[((next_index - 1) % #links) + 1]
  next_index = next_index + threads
  return wrk.format("POST", "/confirm/" .. link, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, "csrf_token=" .. token)
end
