-- Claim a part for one request: free (no record), "pending" (Twilio certainly did
-- not take it) or already ours. Anything else is returned: another sender's
-- "sending:<token>" or the stored result.
-- KEYS[1] the part record. ARGV: our "sending:<token>:<epoch>", "pending", keep
-- seconds. Returns nil when the request may go.
local state = redis.call('GET', KEYS[1])
if state == false or state == ARGV[2] or state == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return false
end
return state
