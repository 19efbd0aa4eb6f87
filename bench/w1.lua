-- W1: each request is the next (token, body) line of LINES_FILE: createTicket and addComment
-- from many customers, in turn. GraphQL errors in 200 answers are counted too.
local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  lines = {}
  for line in io.lines(os.getenv("LINES_FILE")) do
    local tab = line:find("\t")
    table.insert(lines, { line:sub(1, tab - 1), line:sub(tab + 1) })
  end
  i = offset
  gql_errors = 0
end

function request()
  i = i + 1
  local l = lines[(i % #lines) + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. l[1] }, l[2])
end

function response(status, headers, body)
  if body:find('"errors"', 1, true) then gql_errors = gql_errors + 1 end
end

function done(summary, latency, requests)
  local errors = 0
  for _, t in ipairs(threads) do errors = errors + (t:get("gql_errors") or 0) end
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status + errors))
end
