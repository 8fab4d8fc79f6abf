-- Claim a part for one request: free (no record), "pending" (Twilio certainly did
-- not take it) or already ours. Anything else is returned: another sender's
-- "sending:<token>" or the stored result.
-- KEYS[1] the part record. ARGV: our "sending:<token>:<epoch>", "pending", keep
-- seconds; then what this sender knows of its own earlier claims on the part
-- that it could not settle (Redis timed out): the claim whose request went out
-- and that request's result (both "" if none), and claims whose request never
-- went out. Returns nil when the request may go.
local state = redis.call('GET', KEYS[1])
if ARGV[4] ~= '' and state == ARGV[4] then
  redis.call('SET', KEYS[1], ARGV[5], 'EX', ARGV[3])
  return ARGV[5]
end
for i = 6, #ARGV do
  if state == ARGV[i] then
    state = false
    break
  end
end
if state == false or state == ARGV[2] or state == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  return false
end
return state
