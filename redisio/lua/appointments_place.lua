-- KEYS: schedule, ends, customer zset, appointment hash
-- ARGV: id, start_ts, end_ts, lookback_s, then field/value pairs for the hash
local start_ts = tonumber(ARGV[2])
local end_ts = tonumber(ARGV[3])
local others = redis.call('ZRANGEBYSCORE', KEYS[1], start_ts - tonumber(ARGV[4]),
                          '(' .. ARGV[3])
for _, other in ipairs(others) do
  if other ~= ARGV[1] then
    local other_end = tonumber(redis.call('HGET', KEYS[2], other))
    if other_end and other_end > start_ts then return 0 end
  end
end
redis.call('ZADD', KEYS[1], start_ts, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], end_ts)
redis.call('ZADD', KEYS[3], start_ts, ARGV[1])
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
end
return 1
