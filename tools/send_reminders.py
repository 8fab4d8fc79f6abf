"""Text every customer with an appointment in the next 24 hours that has not had
its reminder: `make send-reminders`.

Through the running assistant's business API (POST /sms/outbound with the
"reminder" template), so opt-outs, quiet hours, the rate limit and the
conversation's context are the API's; each reminder's idempotency key makes a
second run, or two at once, send nothing twice (api/reminders.py). Prints what
it did; exit 0, or 2 when Redis or the assistant cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

import aiohttp
from redis.exceptions import RedisError

import redisio
from actions.appointment_store import AppointmentStore
from actions.business import business
from api import reminders
from redisio import RedisSettings, default_url
from tools.business_api import OUTBOUND, BusinessApiClient, NoKey, api_key, base_url


async def run(url: str, key: str, redis_url: str, hours: float) -> int:
    biz = business()
    store = AppointmentStore(
        redisio.client(RedisSettings.from_url(redis_url)), biz.timezone
    )
    client = BusinessApiClient(url, key)
    try:
        report = await reminders.send_reminders(
            store, biz.now(), timedelta(hours=hours), partial(client.post, OUTBOUND)
        )
    except aiohttp.ClientError as err:
        print(f"cannot reach the assistant at {url}: {err} (is `make run` up?)")
        return 2
    except RedisError as err:
        print(f"cannot read the appointments from Redis: {type(err).__name__}")
        return 2
    finally:
        await client.close()
        await redisio.close_all()
    print(f"reminders: {report.summary()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="how far ahead")
    args = parser.parse_args(argv)
    try:
        key = api_key()
    except NoKey as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return asyncio.run(run(base_url(), key, default_url(), args.hours))


if __name__ == "__main__":
    sys.exit(main())
