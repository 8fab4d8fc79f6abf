-- Take the deferred texts that are due, each by one worker only (api/deferred.py).
-- KEYS: due zset, taken zset, jobs hash. ARGV: now, stale_after, limit.
-- A job taken longer than stale_after ago belonged to a worker that died: it is
-- due again (sending it twice is prevented by its idempotency key, not here).
-- Returns a flat list: id, job JSON, id, job JSON …
local now = tonumber(ARGV[1])
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
for _, id in ipairs(stale) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  local job = redis.call('HGET', KEYS[3], id)
  if job then
    redis.call('ZADD', KEYS[2], now, id)
    table.insert(out, id)
    table.insert(out, job)
  end
end
return out
