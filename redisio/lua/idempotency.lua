-- One idempotency key's record (api/idempotency.py): a JSON object, either
-- {"state":"pending","token":…,"at":…,"fingerprint":…} while a request runs, or
-- {"state":"done","fingerprint":…,"status":…,"body":…} after.
-- KEYS[1] the record. ARGV[1] the operation:
--   begin  token now stale_after ttl fingerprint -> {"mine"} | {"pending"|"done", record}
--          (a pending record older than stale_after is taken over: its request died)
--   finish token record -> 1 if the record was ours and is now `record`, else 0
--   release token -> 1 if our pending record was deleted, else 0
local op = ARGV[1]
local raw = redis.call('GET', KEYS[1])
local current = raw and cjson.decode(raw) or nil
if op == 'begin' then
  local mine = cjson.encode({state = 'pending', token = ARGV[2], at = tonumber(ARGV[3]),
    fingerprint = ARGV[6]})
  if not current then
    redis.call('SET', KEYS[1], mine, 'EX', tonumber(ARGV[5]))
    return {'mine'}
  end
  if current.state == 'pending' and current.fingerprint == ARGV[6]
      and tonumber(ARGV[3]) - tonumber(current.at) > tonumber(ARGV[4]) then
    redis.call('SET', KEYS[1], mine, 'KEEPTTL')
    return {'mine'}
  end
  return {current.state, raw}
end
if not current or current.state ~= 'pending' or current.token ~= ARGV[2] then
  return 0
end
if op == 'finish' then
  redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL')
  return 1
end
if op == 'release' then
  redis.call('DEL', KEYS[1])
  return 1
end
return redis.error_reply('unknown operation ' .. tostring(op))
