-- KEYS[1] index, KEYS[2..n] contact hashes. ARGV[1] now, ARGV[2] source, then four per
-- contact: number, name, email, tags as JSON ('' = keep the stored value).
-- Every key's type is checked before the first write: Redis does not roll a script
-- back, so an error half-way would leave half an import behind.
local index_type = redis.call('TYPE', KEYS[1]).ok
if index_type ~= 'none' and index_type ~= 'zset' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' is a ' .. index_type ..
                           ', not a zset: nothing written')
end
for i = 2, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' is a ' .. t ..
                             ', not a contact hash: nothing written')
  end
end
local now, source, created = ARGV[1], ARGV[2], 0
for i = 2, #KEYS do
  local a = 3 + (i - 2) * 4
  local key = KEYS[i]
  if redis.call('EXISTS', key) == 0 then
    created = created + 1
    redis.call('HSET', key, 'created_at', now, 'tags', '[]')
  end
  redis.call('HSET', key, 'updated_at', now, 'source', source)
  if ARGV[a + 1] ~= '' then redis.call('HSET', key, 'name', ARGV[a + 1]) end
  if ARGV[a + 2] ~= '' then redis.call('HSET', key, 'email', ARGV[a + 2]) end
  if ARGV[a + 3] ~= '' then redis.call('HSET', key, 'tags', ARGV[a + 3]) end
  redis.call('ZADD', KEYS[1], now, ARGV[a])
end
return created
