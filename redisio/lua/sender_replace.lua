-- Replace one exact value (a dead sender's claim) with ours or with the result.
-- KEYS[1] the part record. ARGV: the stale claim, the new value, keep seconds.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
