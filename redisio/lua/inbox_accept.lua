-- Accept one inbound text atomically: dedupe on its MessageSid, apply STOP/START,
-- queue it for a turn. KEYS: seen mark, queue, opt-out hash, opt-out log, keyword
-- MessageSids. ARGV: dedupe seconds, keyword (opt_out/opt_in/help or ''), business
-- number, queue entry, opt-out record, opt-in record, MessageSid, now, SIDs kept,
-- the ambiguous opt-out word ('' for none), the hint entry queued after an opt-in
-- from a number that word opted out.
-- Returns duplicate, opted_out, opted_in, opted_in_hint, suppressed, help or queued.
-- KEYS[5]: MessageSids of opt-out and opt-in words, kept after the seen mark
-- expires: a captured STOP or START posted again later changes nothing.
local keyword = ARGV[2] == 'opt_out' or ARGV[2] == 'opt_in'
if keyword and redis.call('ZSCORE', KEYS[5], ARGV[7]) then return 'duplicate' end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 'duplicate'
end
if keyword then
  redis.call('ZADD', KEYS[5], ARGV[8], ARGV[7])
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -1 - tonumber(ARGV[9]))
end
local opted_out = redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1
  or redis.call('HEXISTS', KEYS[3], '*') == 1
if ARGV[2] == 'opt_out' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
  redis.call('RPUSH', KEYS[4], ARGV[3] .. ' ' .. ARGV[5])
  return 'opted_out'
end
if opted_out then
  if ARGV[2] == 'opt_in' then
    local before = redis.call('HGET', KEYS[3], ARGV[3])
      or redis.call('HGET', KEYS[3], '*')
    redis.call('HDEL', KEYS[3], ARGV[3], '*')
    redis.call('RPUSH', KEYS[4], ARGV[3] .. ' ' .. ARGV[6])
    -- Opted out by a word customers also mean otherwise (CANCEL): queue the hint.
    if ARGV[10] ~= '' and before then
      local ok, record = pcall(cjson.decode, before)
      if ok and type(record) == 'table' and record['word'] == ARGV[10] then
        redis.call('RPUSH', KEYS[2], ARGV[11])
        return 'opted_in_hint'
      end
    end
    return 'opted_in'
  end
  return 'suppressed'
end
redis.call('RPUSH', KEYS[2], ARGV[4])
if ARGV[2] == 'help' then return 'help' end
return 'queued'
