-- Take one due inactivity step (warn or close) for one customer, once across workers.
-- KEYS[1] the schedule zset (sms:inactivity:warn or :close). ARGV: customer, now.
-- Returns 1 to the one caller that removed the due entry, else 0.
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if due and tonumber(due) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
