-- The events of a conversation's latest session, without touching older ones:
-- the session index gives where it starts, LRANGE reads from there to the end.
--
-- KEYS[1]  events list
-- KEYS[2]  session starts list
-- Returns {position of the session's first event, {events...}}.

local start = tonumber(redis.call('LINDEX', KEYS[2], -1) or 0)
return {start, redis.call('LRANGE', KEYS[1], start, -1)}
