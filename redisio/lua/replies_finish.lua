-- The first stored parts win: a takeover and a late original store the same turn.
-- KEYS[1] the reply hash. ARGV: parts (JSON), business number, token, keep
-- seconds. Returns the whole record (HGETALL) as stored.
redis.call('HSETNX', KEYS[1], 'parts', ARGV[1])
redis.call('HSETNX', KEYS[1], 'business', ARGV[2])
redis.call('HSETNX', KEYS[1], 'token', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return redis.call('HGETALL', KEYS[1])
