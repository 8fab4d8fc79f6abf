-- An interrupted send's part takes a Twilio message as its own, unless the message
-- already belongs to a part: one recorded by a sender (it has a "part" or, from a
-- send without a part id, an "encoding" field) or adopted by another stale claim.
-- A message that only has delivery statuses (callbacks came, no sender recorded
-- it) is free. KEYS[1] the message hash. ARGV: part id, keep seconds.
-- Returns 1 if the message is (now) this part's, else 0.
local owner = redis.call('HGET', KEYS[1], 'part')
if owner then
  if owner == ARGV[1] then return 1 end
  return 0
end
if redis.call('HEXISTS', KEYS[1], 'encoding') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'part', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
