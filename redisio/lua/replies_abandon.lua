-- A turn that failed before it stored its parts: the next attempt may start it.
-- KEYS[1] the reply hash. ARGV[1] token. Returns 1 if the record was removed.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
  and redis.call('HEXISTS', KEYS[1], 'parts') == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
