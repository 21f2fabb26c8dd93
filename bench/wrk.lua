-- SPDX-License-Identifier: Apache-2.0
-- The one wrk script of bench/run.sh. Every request carries `Authorization: Bearer $BENCH_KEY`
-- (nginx gets the same request bytes and ignores it). BENCH_MODE picks the requests:
--   get     the URL given to wrk, unchanged (reads)
--   create  POST /dip/publicapi/admin/connections/ of a new PostgreSQL connection; names are
--           unique per request: bench_<BENCH_TAG>_<thread>_<counter>
--   update  PUT /dip/publicapi/admin/connections/conn_NNNNNN (the N loaded ones, in turn; body
--           without creationTag, so no version check)
-- done() appends one JSON line to $BENCH_WRK_OUT: counts, duration, latency percentiles (us),
-- errors, and the labels BENCH_SCENARIO, BENCH_TARGET, BENCH_N, BENCH_SETTINGS, BENCH_ROUND (1 or
-- 2 for the alternated runs of GET one connection, else 0).

local mode = os.getenv("BENCH_MODE") or "get"
local tag = os.getenv("BENCH_TAG") or "x"
local n_loaded = tonumber(os.getenv("BENCH_N") or "1")
local api = "/dip/publicapi/admin/connections/"

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "")

local threads = {}
function setup(thread)
   table.insert(threads, thread)
   thread:set("tid", #threads)
end

local function definition(name, i)
   return string.format(
      '{"name":"%s","type":"PostgreSQL","params":{"host":"db-%d.internal","port":"5432",' ..
      '"db":"sales","user":"etl","password":"pw-%d","properties":[]},"usableBy":"ALLOWED",' ..
      '"allowedGroups":["data_team"],"description":"Sales replica %d, written by the bench"}',
      name, i, i, i)
end

local counter = 0
-- wrk.format uses these instead of wrk.headers, so they repeat the Authorization header
local json_headers = {
   ["Authorization"] = wrk.headers["Authorization"],
   ["Content-Type"] = "application/json",
}

if mode == "create" then
   request = function()
      counter = counter + 1
      local name = string.format("bench_%s_%d_%d", tag, tid, counter)
      return wrk.format("POST", api, json_headers, definition(name, counter))
   end
elseif mode == "update" then
   request = function()
      -- threads take interleaved indexes so that they rarely write the same row at once
      local i = ((counter * 16) + tid) % n_loaded
      counter = counter + 1
      local name = string.format("conn_%06d", i)
      return wrk.format("PUT", api .. name, json_headers, definition(name, i + counter))
   end
end

-- writes also count their error statuses (a Lua response() would slow the fast reads down)
if mode ~= "get" then
   statuses = {}
   response = function(status, headers, body)
      if status >= 300 then
         statuses[status] = (statuses[status] or 0) + 1
      end
   end
end

-- "503x2 409x1": the error statuses of every thread, added up
local function status_counts()
   local total = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses") or {}) do
         total[status] = (total[status] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format("%dx%d", status, count))
   end
   table.sort(parts)
   return table.concat(parts, " ")
end

local function label(name)
   local v = os.getenv(name) or ""
   return (v:gsub('[\\"]', ""))
end

function done(summary, latency, requests)
   local out = os.getenv("BENCH_WRK_OUT")
   if not out then
      return
   end
   local e = summary.errors
   local f = assert(io.open(out, "a"))
   f:write(string.format(
      '{"kind":"wrk","scenario":"%s","target":"%s","n":%d,"settings":"%s",' ..
      '"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"statuses":"%s",' ..
      '"round":%d}\n',
      label("BENCH_SCENARIO"), label("BENCH_TARGET"), n_loaded, label("BENCH_SETTINGS"),
      summary.requests, summary.duration, summary.bytes,
      latency:percentile(50.0), latency:percentile(99.0), latency.max,
      e.connect, e.read, e.write, e.status, e.timeout, status_counts(),
      tonumber(os.getenv("BENCH_ROUND") or "") or 0))
   f:close()
end
