-- While the turn runs, its worker's lease keeper says it is alive.
-- KEYS[1] the reply hash. ARGV: token, now. Returns 1 while the turn is ours.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1]
  and redis.call('HEXISTS', KEYS[1], 'parts') == 0 then
  redis.call('HSET', KEYS[1], 'alive_at', ARGV[2])
  return 1
end
return 0
