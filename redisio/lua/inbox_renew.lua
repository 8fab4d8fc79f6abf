-- Extend our ownership of a conversation, only if it is still ours.
-- KEYS[1] owner. ARGV[1] our token, ARGV[2] the lease in ms. Returns 1 if renewed.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
