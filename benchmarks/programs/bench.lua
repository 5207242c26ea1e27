-- The Lua workload of the benchmark (python -m benchmarks, program "lua"): calls, tables,
-- strings and floats, scaled by arg[1]; prints a checksum of everything it computed.
local n = tonumber(arg[1])
local function fib(k) if k < 2 then return k end return fib(k - 1) + fib(k - 2) end
local acc = 0
for round = 1, n do
  acc = acc + fib(18)
  local t = {}
  for i = 1, 2000 do t[i] = (i * 7919 + round) % 1000 end
  table.sort(t)
  acc = acc + t[1] + t[1000] + t[2000]
  local parts = {}
  for i = 1, 300 do parts[#parts + 1] = string.format("%d:%x", i, i * round) end
  local s = table.concat(parts, ",")
  acc = acc + #s + select(2, s:gsub("1", "1"))
  local x = 0.0
  for i = 1, 3000 do x = x + math.sin(i * 0.001) * math.sqrt(i) end
  acc = acc + math.floor(x)
  local words = {}
  for w in s:gmatch("%d+") do words[w] = (words[w] or 0) + 1 end
  local distinct = 0
  for _ in pairs(words) do distinct = distinct + 1 end
  acc = (acc + distinct) % 1000000007
end
print("checksum", acc)
