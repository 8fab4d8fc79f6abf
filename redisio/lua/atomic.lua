-- A few commands on one hash slot, all or none seen by others: MULTI/EXEC where a
-- Redis Cluster client has none (redisio/atomic.py).
-- KEYS: every key the commands touch (one hash slot), declared for the cluster.
-- ARGV: for each command, its word count, then its words (name, key, arguments).
-- Returns each command's reply, in order.
local replies, i = {}, 1
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  replies[#replies + 1] = redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return replies
