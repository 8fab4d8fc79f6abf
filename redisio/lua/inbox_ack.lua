-- Remove a conversation's head entry once it is handled, only if it is still that
-- entry (another owner may have removed it already).
-- KEYS[1] the queue. ARGV[1] the entry as read. Returns 1 if removed, else 0.
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then return redis.call('LPOP', KEYS[1]) and 1 end
return 0
