"""Text a customer from the business: `make send TO=+14155552671 MSG="…"`.

The same path as the business's own systems (POST /sms/outbound on the running
assistant), so the text starts a conversation and the reply continues it.
Exit 0 when Twilio took it, 1 when the API refused it (its answer is printed),
2 for a usage error or a server that cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

import aiohttp

from tools.business_api import OUTBOUND, BusinessApiClient, NoKey, api_key, base_url


async def send(url: str, key: str, body: dict) -> int:
    client = BusinessApiClient(url, key)
    try:
        status, answer, _ = await client.post(OUTBOUND, body)
    except aiohttp.ClientError as err:
        print(f"cannot reach the assistant at {url}: {err} (is `make run` up?)")
        return 2
    finally:
        await client.close()
    print(f"{status} {json.dumps(answer)}")
    return 0 if status == 202 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True, help="the customer, E.164")
    parser.add_argument("--message", help="the text")
    parser.add_argument("--template", help="e.g. reminder")
    parser.add_argument("--agent-number", help="send from this business number")
    parser.add_argument("--urgent", action="store_true", help="even in quiet hours")
    parser.add_argument(
        "--when-allowed", action="store_true", help="queue it until quiet hours end"
    )
    args = parser.parse_args(argv)
    if not args.message and not args.template:
        parser.error("give MSG (--message) or --template")
    body = {"to": args.to}
    for name in ("message", "template", "agent_number"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.urgent:
        body["urgent"] = True
    if args.when_allowed:
        body["when_allowed"] = True
    try:
        key = api_key()
    except NoKey as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return asyncio.run(send(base_url(), key, body))


if __name__ == "__main__":
    sys.exit(main())
