-- Start one text's turn: the first worker to set the token owns it.
-- KEYS[1] the reply hash. ARGV: token, now, keep seconds.
if redis.call('HSETNX', KEYS[1], 'token', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'started_at', ARGV[2], 'alive_at', ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
