-- Drop the sessions of one conversation that ended before a cutoff, atomically.
--
-- A session ended before the cutoff if the next one started before it. So every
-- event before the start of the latest session that started before the cutoff
-- goes; that session and all later ones stay, the current one always. Positions in
-- the session index are shifted to match the shorter list. A save racing with this
-- sees a changed length and re-plans from the stored tail (redis_store.save).
--
-- KEYS[1]  events list (one JSON event per entry, oldest first)
-- KEYS[2]  session starts list (event positions of `action_session_start`)
-- ARGV[1]  cutoff, epoch seconds
-- Returns how many events were removed.

local cutoff = tonumber(ARGV[1])
local starts = redis.call('LRANGE', KEYS[2], 0, -1)
local keep_from, keep_index = 0, 0
for i = 1, #starts do
  local position = tonumber(starts[i])
  local raw = redis.call('LINDEX', KEYS[1], position)
  if not raw then break end
  local timestamp = tonumber(cjson.decode(raw)['timestamp'] or 0)
  if timestamp >= cutoff then break end
  keep_from, keep_index = position, i
end
if keep_from == 0 then return 0 end

redis.call('LTRIM', KEYS[1], keep_from, -1)
local ttl = redis.call('PTTL', KEYS[2])
redis.call('DEL', KEYS[2])
local shifted = {}
for i = keep_index, #starts do
  shifted[#shifted + 1] = tonumber(starts[i]) - keep_from
end
local first = 1
while first <= #shifted do
  local last = math.min(first + 999, #shifted)
  redis.call('RPUSH', KEYS[2], unpack(shifted, first, last))
  first = last + 1
end
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return keep_from
