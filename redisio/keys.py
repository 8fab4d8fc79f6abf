"""Every Redis key the project uses, spelled in one place.

Redis Cluster: every multi-key atomic step (a Lua script, `redisio.atomic`) must
name keys of one hash slot; redisio/scripts.py checks this before each call. So:

- a conversation's keys share the hash tag `{<customer number>}`;
- a family whose steps span customers shares one tag of its own: the inactivity
  schedule and phases `{inactivity}`, contacts `{contacts}`, appointments
  `{appointments}`, hand-offs `{handoff}`, each then on one node (all small);
- the other global keys (`sms:work`, `sms:ready`, the failure lists, the tracker
  index) are only ever used with single-key commands.

tools/keyspace.py lists what each key family may hold and for how long.
"""

from __future__ import annotations

PREFIX = "sms"


def _conv(customer: str, name: str) -> str:
    return f"{PREFIX}:{{{customer}}}:{name}"


def conversation_pattern(customer: str) -> str:
    """SCAN/KEYS pattern of every channel key of one conversation (tests, tools)."""
    return _conv(customer, "*").replace("[", "\\[").replace("?", "\\?")


def seen(customer: str, message_sid: str) -> str:
    """Dedupe marker of one inbound MessageSid (SET NX), for `dedupe_hours`
    (30 days by default): a replayed webhook within it is a duplicate."""
    return _conv(customer, f"seen:{message_sid}")


def keyword_sids(customer: str) -> str:
    """Zset: MessageSids of the customer's STOP/START words, by time, so that a
    replay after the seen mark expired changes nothing. Capped at the newest
    1,000 (inbox.KEYWORD_SIDS_KEPT); kept as long as the opt-out record."""
    return _conv(customer, "keyword_sids")


def queue(customer: str) -> str:
    """The conversation's inbox: a list, oldest first, popped only after the reply."""
    return _conv(customer, "queue")


def reply(customer: str, key: str) -> str:
    """Hash: one text's turn (who started it, when) and, once it ended, the parts
    to send and their retry state. Expires after 7 days (replies.py)."""
    return _conv(customer, f"reply:{key}")


def part_sent(customer: str, part_id: str) -> str:
    """One outbound part's send record ("sending", "pending" or its result), so it
    is sent at most once whoever retries it. Expires after 7 days (sender.py)."""
    return _conv(customer, f"part:{part_id}")


def owner(customer: str) -> str:
    """Which worker drains the queue right now (SET NX PX, renewed while it runs)."""
    return _conv(customer, "owner")


def opt_out(customer: str) -> str:
    """Hash: business number (or Messaging Service SID) -> when the customer opted out."""
    return _conv(customer, "optout")


def opt_out_log(customer: str) -> str:
    """List of every opt-out/opt-in change, kept as the record Twilio asks for."""
    return _conv(customer, "optout:log")


def message(customer: str, sid: str) -> str:
    """Hash: one outbound message (body, segments, status, error code)."""
    return _conv(customer, f"msg:{sid}")


def statuses_seen(customer: str, sid: str) -> str:
    """Set of statuses already reported for one message (callbacks repeat)."""
    return _conv(customer, f"msg:{sid}:seen")


def sent(customer: str) -> str:
    """List of outbound message ids of the conversation, oldest first."""
    return _conv(customer, "sent")


def options(customer: str) -> str:
    """Buttons of the last reply, so that "2" can mean the second payload."""
    return _conv(customer, "options")


def failures(customer: str, entry_id: str) -> str:
    """Hash: how often processing one inbox entry failed, and the last error.
    Expires after 7 days; the entry is dead-lettered long before (worker.py)."""
    return _conv(customer, f"failures:{entry_id}")


# Global keys: single-key commands only.
#: Lists of JSON records, newest first, for `make failed-sends`: replies not
#: delivered, and inbox entries given up on. Capped, and expiring 30 days after
#: the last record (connectors/failures.py).
FAILED_SENDS = f"{PREFIX}:failed_sends"
DEAD_LETTERS = f"{PREFIX}:dead_letters"
READY = f"{PREFIX}:ready"  # stream: "conversation X has work", read by a group
READY_GROUP = "workers"
WORK = f"{PREFIX}:work"  # zset: conversations with a queue, by enqueue time
#: Set once every key renamed for Redis Cluster was moved (redisio/legacy_keys.py).
LEGACY_KEYS_RENAMED = f"{PREFIX}:legacy_keys_renamed:v1"

#: Which replica runs today's clean-up (SET NX EX, connectors/housekeeping.py).
HOUSEKEEPING = f"{PREFIX}:housekeeping"


# Inactivity (connectors/inactivity.py): one hash tag for the schedule and every
# customer's phase, since arming a customer's timer changes both in one step.
INACTIVITY = f"{PREFIX}:{{inactivity}}"


def inactivity(customer: str) -> str:
    """Hash: phase (waiting/warned/closed), business number and sender pair."""
    return f"{INACTIVITY}:phase:{customer}"


# Inactivity schedule: zsets of customers by the time their next step is due.
INACTIVITY_WARN = f"{INACTIVITY}:warn"
INACTIVITY_CLOSE = f"{INACTIVITY}:close"


# --- contacts (stores/contacts.py) ----------------------------------------------


# One hash tag for every contact and the index: an import writes many contacts and
# the index in one script (all or nothing), which a cluster runs on one slot only.
CONTACTS = "{contacts}"


def contact(number: str) -> str:
    """Hash of one contact (name, email, tags, source, times), keyed by E.164."""
    return f"{CONTACTS}:contact:{number}"


#: Zset index: number -> updated_at, for counting and listing without SCAN.
CONTACTS_INDEX = f"{CONTACTS}:index"


# --- the tracker store (stores/tracker_store.py); the prefix is `key_prefix` --------


def tracker_events(prefix: str, sender_id: str) -> str:
    """List of one conversation's events (JSON), oldest first; append-only."""
    return f"{prefix}:{{{sender_id}}}:events"


def tracker_sessions(prefix: str, sender_id: str) -> str:
    """List of the positions in the events list where a session starts."""
    return f"{prefix}:{{{sender_id}}}:sessions"


def tracker_index(prefix: str) -> str:
    """Global zset of conversation ids by last save: single-key commands only."""
    return f"{prefix}:conversations"


# --- the lock store (stores/lock_store.py); the prefix is `key_prefix` ------------


def lock_keys(prefix: str, conversation_id: str) -> list[str]:
    """next, serving, lease, tickets: one hash tag, so one cluster slot."""
    tag = f"{prefix}:{{{conversation_id}}}"
    return [f"{tag}:{name}" for name in ("next", "serving", "lease", "tickets")]


def lock_released(prefix: str) -> str:
    """Pub/sub channel of releases that have a waiter; the message is the id."""
    return f"{prefix}:released"


# --- the action server (actions/appointment_store.py, actions/handoff_store.py) ---
# One hash tag each, so the booking script's keys share a cluster slot.
APPOINTMENTS = "{appointments}"
#: Zset: appointment id -> start epoch (active ones only).
APPOINTMENT_SCHEDULE = f"{APPOINTMENTS}:schedule"
#: Hash: appointment id -> end epoch (active ones only).
APPOINTMENT_ENDS = f"{APPOINTMENTS}:ends"


def appointment(appointment_id: str) -> str:
    """Hash of one appointment."""
    return f"{APPOINTMENTS}:appt:{appointment_id}"


def customer_appointments(customer: str) -> str:
    """Zset of one customer's appointment ids by start time."""
    return f"{APPOINTMENTS}:customer:{customer}"


HANDOFF = "{handoff}"
#: Stream of hand-off requests for staff tools.
HANDOFF_REQUESTS = f"{HANDOFF}:requests"
#: Hash: customer -> the pending request (JSON).
HANDOFF_PENDING = f"{HANDOFF}:pending"


# --- the business API (api/) ---
def api_bucket(key_name: str) -> str:
    """Hash: one API key's token bucket (rate_limit.py); expires once full again."""
    return f"{PREFIX}:api:bucket:{key_name}"


def api_idempotency(key_name: str, digest: str) -> str:
    """String: one idempotency key's request and answer, for 24 hours
    (api/idempotency.py). `digest` is a hash of the caller's key."""
    return f"{PREFIX}:api:idem:{key_name}:{digest}"


#: Texts the business asked to send once quiet hours end (api/deferred.py); one
#: hash tag, so a claim moves a job between the zsets in one script.
DEFERRED = f"{PREFIX}:{{deferred}}"
#: Zset: job id -> when it may go.
DEFERRED_DUE = f"{DEFERRED}:due"
#: Zset: job id -> when a worker took it (back to due if that worker died).
DEFERRED_TAKEN = f"{DEFERRED}:taken"
#: Hash: job id -> the request (JSON).
DEFERRED_JOBS = f"{DEFERRED}:jobs"


# --- analytics (analytics/counters.py) ---
#: One hash tag for every counter: a day's hash and its set of numbers change in one
#: step, and a report reads many days at once (small keys, on one node).
STATS = f"{PREFIX}:{{stats}}"
#: Set of the business lines (number or Messaging Service SID) that have counters.
STATS_LINES = f"{STATS}:lines"


def stats_day(line: str, day: str) -> str:
    """Hash: one business line's counters for one day (YYYY-MM-DD, business time);
    expires after the retention setting."""
    return f"{STATS}:day:{line}:{day}"


def stats_numbers(line: str, day: str) -> str:
    """Set: the customer numbers that texted or were texted on that line that day."""
    return f"{STATS}:numbers:{line}:{day}"


#: Zset: customer number -> last text in or out, for the conversations list
#: (single-key commands only); entries older than the retention are dropped.
CONVERSATIONS = f"{PREFIX}:conversations"


def conversation_summary(customer: str) -> str:
    """Hash: one conversation's texts in and out, its line and last activity."""
    return _conv(customer, "summary")
