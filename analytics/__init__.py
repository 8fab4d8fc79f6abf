"""What happened, per business line and per day: counters in Redis and their reports."""
