-- Opt-out first, dedupe mark after: Redis does not undo a script's earlier writes
-- when a later one fails, so a failure leaves nothing that makes Twilio's retry of
-- the callback look like a duplicate.
-- One delivery callback, once per (message, status), moving the status forward only;
-- a 21610 opts the customer out in the same call. KEYS: message hash, statuses seen,
-- opt-out hash, opt-out log. ARGV: status, its rank, error code, now, keep seconds,
-- business number to opt out of (or ''), opt-out record.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'duplicate' end
if ARGV[6] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
  redis.call('RPUSH', KEYS[4], ARGV[6] .. ' ' .. ARGV[7])
end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'at_' .. ARGV[1], ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'error_code', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
local current = tonumber(redis.call('HGET', KEYS[1], 'status_rank') or '-1')
if tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'status_rank', ARGV[2])
  return 'updated'
end
return 'stale'
