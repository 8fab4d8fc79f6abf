"""A webhook probe in a process of its own: what Twilio, on another machine, would see.

In bench.throughput the emulator both plays Twilio's webhook and serves 50 phones'
long polls and the replies, on the same 2 cores as the servers; its own event loop
then adds its backlog to every webhook time it measures. This process does nothing
else: every `1/rate` s it posts one signed form (twilio's RequestValidator) to the
webhook and times the answer. The form repeats one MessageSid, so after the first
post each is a duplicate: the signature check and the inbox's one Lua call, the
whole webhook path, and no extra turn to load the machine with.

    .venv/bin/python -m bench.webhook_probe --url http://127.0.0.1:5005/webhooks/twilio_sms/webhook \\
        --auth-token ... --seconds 30

Prints one JSON line: count, failures, p50/p99/max in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import aiohttp
from twilio.request_validator import RequestValidator


async def probe(url: str, token: str, seconds: float, rate: float) -> dict[str, object]:
    form = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": "AC" + "5" * 32,
        "From": "+14155559999",
        "To": "+15017122661",
        "Body": "probe",
        "NumSegments": "1",
        "NumMedia": "0",
    }
    headers = {
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, form)
    }
    times: list[float] = []
    failures = 0
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                async with http.post(url, data=form, headers=headers) as answer:
                    await answer.read()
                    ok = answer.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                times.append(elapsed)
            else:
                failures += 1
            await asyncio.sleep(max(0.0, 1 / rate - elapsed / 1000))
    ordered = sorted(times)
    cuts = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {
        "count": len(times),
        "failures": failures,
        "p50_ms": round(cuts[49], 1) if cuts else None,
        "p99_ms": round(cuts[98], 1) if cuts else None,
        "max_ms": round(ordered[-1], 1) if ordered else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--auth-token", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=10, help="posts per second")
    args = parser.parse_args()
    result = asyncio.run(probe(args.url, args.auth_token, args.seconds, args.rate))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
