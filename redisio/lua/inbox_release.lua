-- Give a conversation up: delete the owner key only if it is still ours.
-- KEYS[1] owner, KEYS[2] queue. ARGV[1] our token. Returns the entries still waiting.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return redis.call('LLEN', KEYS[2])
