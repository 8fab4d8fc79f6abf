-- One conversation's ticket lock; every step is this one script, so it is atomic.
--
-- KEYS (all with the conversation's hash tag):
--   1 next     last ticket issued (INCR), kept after the queue empties so tickets grow
--   2 serving  the ticket whose turn it is
--   3 lease    token of the serving ticket's holder, with PX: renewed while the turn
--              runs, set by `advance` when a waiter is given the turn
--   4 tickets  hash ticket -> token of every ticket still queued or held; a ticket
--              missing from it (given up, dropped) is skipped
-- ARGV: op (issue | check | renew | release), ticket (0 for issue), token, lease_ms,
--       idle_ms, channel, conversation id
-- Returns {ticket, state, serving}: state 1 = holds the lock, 0 = waits, -1 = dropped.
local next_key, serving_key, lease_key, tickets_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op, ticket, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local lease_ms, idle_ms = tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, conversation = ARGV[6], ARGV[7]

-- Keys left behind by a crashed replica go away on their own.
local function touch()
  redis.call('PEXPIRE', next_key, idle_ms)
  redis.call('PEXPIRE', serving_key, idle_ms)
  redis.call('PEXPIRE', tickets_key, idle_ms)
end

-- Serve the first queued ticket after `from`, hand it a lease and wake the waiters.
-- An empty queue leaves only `next`.
local function advance(from)
  redis.call('HDEL', tickets_key, from)
  local last = tonumber(redis.call('GET', next_key)) or 0
  local s = from + 1
  while s <= last and redis.call('HEXISTS', tickets_key, s) == 0 do
    s = s + 1
  end
  if s > last then
    redis.call('DEL', serving_key, lease_key, tickets_key)
    return s
  end
  redis.call('SET', serving_key, s)
  redis.call('SET', lease_key, redis.call('HGET', tickets_key, s), 'PX', lease_ms)
  touch()
  redis.call('PUBLISH', channel, conversation)
  return s
end

if op == 'issue' then
  ticket = redis.call('INCR', next_key)
  redis.call('HSET', tickets_key, ticket, token)
  if not redis.call('GET', serving_key) then
    redis.call('SET', serving_key, ticket)
  end
  touch()
elseif redis.call('HGET', tickets_key, ticket) ~= token then
  return {ticket, -1, 0}
end

local serving = tonumber(redis.call('GET', serving_key)) or 0

if op == 'release' then
  if serving == ticket then
    serving = advance(ticket)
  else
    redis.call('HDEL', tickets_key, ticket)
  end
  return {ticket, 0, serving}
end

if op == 'renew' then
  if serving ~= ticket then
    return {ticket, -1, serving}
  end
  redis.call('SET', lease_key, token, 'PX', lease_ms)
  touch()
  return {ticket, 1, serving}
end

-- issue or check
if ticket < serving then
  redis.call('HDEL', tickets_key, ticket)
  return {ticket, -1, serving}
end
if ticket > serving and redis.call('EXISTS', lease_key) == 0 then
  -- The serving ticket's lease ran out: its holder died, or it was given the turn
  -- and never came to take it.
  serving = advance(serving)
end
if ticket == serving then
  redis.call('SET', lease_key, token, 'PX', lease_ms)
  return {ticket, 1, serving}
end
return {ticket, 0, serving}
