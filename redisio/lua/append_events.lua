-- Append a conversation's new events and the positions where new sessions begin,
-- atomically, and only if the caller knows how many events are stored: a stale
-- caller (a second save of the same turn, a race) gets the real length back instead
-- of appending duplicates.
--
-- KEYS[1]  events list (one JSON event per entry, oldest first)
-- KEYS[2]  session starts list (event positions of `action_session_start`)
-- ARGV[1]  number of events the caller believes are stored
-- ARGV[2]  TTL in milliseconds for both keys, 0 for none
-- ARGV[3]  n, how many of the new events start a session
-- ARGV[4 .. 3+n]      their offsets among the new events (0 = first new event)
-- ARGV[4+n .. #ARGV]  the new events
-- Returns {1, new length} when appended, {0, stored length} when the caller was stale.

local stored = redis.call('LLEN', KEYS[1])
if stored ~= tonumber(ARGV[1]) then
  return {0, stored}
end

local n = tonumber(ARGV[3])
for i = 1, n do
  redis.call('RPUSH', KEYS[2], stored + tonumber(ARGV[3 + i]))
end

-- unpack() is limited by the Lua C stack: push in chunks.
local first = 4 + n
local length = stored
while first <= #ARGV do
  local last = math.min(first + 999, #ARGV)
  length = redis.call('RPUSH', KEYS[1], unpack(ARGV, first, last))
  first = last + 1
end

local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)  -- a no-op while no session has started
end
return {1, length}
