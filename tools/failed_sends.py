"""What the SMS channel gave up on: `python -m tools.failed_sends` (`make failed-sends`).

Lists, newest first, the replies that did not reach Twilio (or may not have: an
`unknown` outcome was sent without an answer and is never re-sent by itself) and
the dead letters (texts whose processing failed every attempt; the customer got
the failure message). Message texts are shown only with --show-text. Exit 0, or 2
when Redis cannot be read. The records: connectors/failures.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

import redisio
from connectors import failures
from redisio import RedisSettings
from redisio import keys as redis_keys


def _when(record: dict[str, Any]) -> str:
    at = record.get("at")
    if not isinstance(at, (int, float)):
        return "?"
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def send_line(record: dict[str, Any]) -> str:
    return (
        f"{_when(record)}  {record.get('customer')}  reply to {record.get('reply')}"
        f"  part {record.get('part')}/{record.get('parts')}"
        f"  {record.get('outcome')}: {record.get('reason')}"
    )


def dead_line(record: dict[str, Any], show_text: bool) -> str:
    line = (
        f"{_when(record)}  {record.get('customer')}  {record.get('message_sid')}"
        f"  after {record.get('attempts')} attempts: {record.get('error')}"
    )
    if show_text:
        try:
            body = json.loads(record.get("entry") or "{}")["sms"]["body"]
        except (ValueError, KeyError, TypeError):
            body = "(unreadable entry)"
        line += f"\n    text: {body!r}"
    return line


async def report(redis: Redis, limit: int, show_text: bool, as_json: bool) -> str:
    sends = await failures.newest(redis, redis_keys.FAILED_SENDS, limit)
    dead = await failures.newest(redis, redis_keys.DEAD_LETTERS, limit)
    if as_json:
        if not show_text:
            dead = [{k: v for k, v in r.items() if k != "entry"} for r in dead]
        return json.dumps({"failed_sends": sends, "dead_letters": dead}, indent=2)
    lines = [f"Replies not delivered ({len(sends)}, newest first):"]
    lines += [f"  {send_line(r)}" for r in sends] or ["  none"]
    lines += [f"Texts given up on ({len(dead)}, newest first):"]
    lines += [f"  {dead_line(r, show_text)}" for r in dead] or ["  none"]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.failed_sends", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--redis-url",
        default=redisio.default_url(),
        help="default: $REDIS_URL, else the project's own Redis (scripts/redis.sh)",
    )
    parser.add_argument("--limit", type=int, default=100, help="records per list")
    parser.add_argument("--show-text", action="store_true", help="dead letters' text")
    parser.add_argument("--json", action="store_true", help="machine-readable")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    try:
        redis = redisio.client(RedisSettings.from_url(args.redis_url))
    except ValueError as err:
        print(f"failed-sends: --redis-url: {err}", file=sys.stderr)
        return 2
    try:
        print(await report(redis, args.limit, args.show_text, args.json))
    except RedisError as err:
        print(f"failed-sends: cannot read Redis: {err}", file=sys.stderr)
        return 2
    finally:
        await redisio.close_all()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
