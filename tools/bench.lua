-- wrk script for tools/bench.py: POSTs the bodies of a file (one JSON body a line) in turn,
-- each thread from its own starting point, and prints one machine-readable summary line.
--   wrk -s tools/bench.lua URL -- BODIES_FILE [AUTHORIZATION] [NAMESPACE]
local bodies = {}
local idx = 0
local headers = {}
local path

function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  f:close()
  headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then headers["Authorization"] = args[2] end
  if args[3] and args[3] ~= "" then headers["X-Mock-Namespace"] = args[3] end
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  idx = math.random(#bodies) - 1
  path = wrk.path
end

function request()
  idx = idx % #bodies + 1
  return wrk.format("POST", path, headers, bodies[idx])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
