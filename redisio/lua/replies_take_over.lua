-- Another worker's turn gave no sign of life: first note the suspicion, and take
-- the turn over only if no sign came for ARGV[3] seconds after that. A silence
-- that was a Redis outage ends with a sign as soon as Redis is back, so no outage,
-- however long, makes a living turn look dead.
-- KEYS[1] the reply hash. ARGV: new token, now, seconds of silence. Returns 1 when
-- the caller now owns the turn.
if redis.call('HEXISTS', KEYS[1], 'parts') == 1 then return 0 end
local alive = tonumber(redis.call('HGET', KEYS[1], 'alive_at') or '0')
local suspected = tonumber(redis.call('HGET', KEYS[1], 'suspected_at') or '0')
local now = tonumber(ARGV[2])
if suspected <= alive then
  redis.call('HSET', KEYS[1], 'suspected_at', ARGV[2])
  return 0
end
if now - suspected < tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'started_at', ARGV[2],
  'alive_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'suspected_at')
return 1
