-- Record how our request ended, only while the claim is still ours.
-- KEYS[1] the part record. ARGV: our claim, the result (JSON), keep seconds.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
