-- wrk script of bench/sign-vs-pyhanko: POST /api/v1/documents/sign with a new PDF each time.
-- Environment: PARAF_TOKEN (bearer token), PARAF_TEMPLATE (a PDF from
-- `bench/make_pdfs.py --template`), PARAF_POSITION (invisible or bottom-right),
-- PARAF_FIRST (first document number, so that runs never repeat a document).
local token = os.getenv("PARAF_TOKEN")
local position = os.getenv("PARAF_POSITION") or "invisible"
local first = tonumber(os.getenv("PARAF_FIRST") or "1")
local f = assert(io.open(os.getenv("PARAF_TEMPLATE"), "rb"))
local template = f:read("*a")
f:close()
local at = assert(template:find("000000", 1, true), "template has no 000000")

local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local n = 0
function request()
  -- Each wrk thread numbers its documents in its own range of 100 000.
  local number = first + id * 100000 + n
  n = n + 1
  local body = template:sub(1, at - 1) .. string.format("%06d", number % 1000000)
    .. template:sub(at + 6)
  return wrk.format("POST",
    "/api/v1/documents/sign?title=Bench%20" .. number .. "&position=" .. position,
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/pdf" },
    body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT http_requests %d\n", summary.requests))
  io.write(string.format("RESULT http_non2xx %d\n", non2xx))
  io.write(string.format("RESULT http_seconds %.3f\n", summary.duration / 1e6))
  io.write(string.format("RESULT http_p50_ms %.2f\n", latency:percentile(50) / 1000))
  io.write(string.format("RESULT http_p99_ms %.2f\n", latency:percentile(99) / 1000))
end
