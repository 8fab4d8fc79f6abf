-- KEYS[1] contact hash, KEYS[2] index. ARGV: number, now, source.
-- Returns {1} when it created the contact, else {0, <HGETALL of the existing one>}.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {0, redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'tags', '[]', 'created_at', ARGV[2],
           'updated_at', ARGV[2], 'source', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return {1}
