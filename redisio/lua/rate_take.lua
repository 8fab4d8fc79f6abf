-- Take one token from a token bucket shared by every worker (api/rate_limit.py).
-- KEYS[1] the bucket hash (tokens, at). ARGV: capacity, refill per second, now (s).
-- Redis's own clock is not used: ARGV[3] comes from the caller, so tests can move it.
-- Returns {1, 0} when taken, else {0, milliseconds until a token is there}.
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate)
end
local ttl = math.ceil(capacity / rate) + 1
if tokens >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(now))
  redis.call('EXPIRE', KEYS[1], ttl)
  return {1, 0}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], ttl)
return {0, math.ceil((1 - tokens) / rate * 1000)}
