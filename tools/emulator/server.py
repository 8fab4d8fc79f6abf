"""A local Twilio for a project that has no Twilio account: the Messages REST API,
signed inbound webhooks and status callbacks, and a few `/_emulator/*` routes for tests.

Run it with `python -m tools.emulator --help`; embed it with `running_emulator(config)`
(both importable from `tools.emulator`).
Point twilio-python at it with `client.api.base_url = <base url>` (and, for the
Messaging Services API, `client.messaging.base_url = <base url>`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence

from aiohttp import web

from tools.emulator import account_api, api, control
from tools.emulator.config import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_WEBHOOK_URL,
    INBOUND_URL,
    ConfigError,
    EmulatorConfig,
    parse_failures,
    parse_numbers,
    require_loopback,
)
from tools.emulator.state import STATE, EmulatorState

__all__ = ["EmulatorConfig", "create_app", "running_emulator", "main"]

logger = logging.getLogger(__name__)


def create_app(config: EmulatorConfig | None = None) -> web.Application:
    """An aiohttp app with every route; its client session and background tasks live
    and die with the app (startup, shutdown and cleanup signals)."""
    app = web.Application()
    state = EmulatorState(config or EmulatorConfig())
    app[STATE] = state
    api.add_routes(app)
    account_api.add_routes(app)
    control.add_routes(app)

    async def start(_: web.Application) -> None:
        await state.start()

    async def stop(_: web.Application) -> None:
        await state.stop()

    async def close(_: web.Application) -> None:
        await state.close()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
    app.on_cleanup.append(close)
    return app


@contextlib.asynccontextmanager
async def running_emulator(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve the emulator on a loopback port (0 = a free one) and yield its base URL,
    e.g. `http://127.0.0.1:41234`; stopped when the block exits."""
    require_loopback(host)
    runner = web.AppRunner(create_app(config), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        url_host = f"[{host}]" if ":" in host else host
        yield f"http://{url_host}:{bound_port}"
    finally:
        await runner.cleanup()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m tools.emulator", description=__doc__.split("\n\n")[0]
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="loopback address to bind")
    add("--port", type=int, default=8099)
    add("--account-sid", default=env.get("TWILIO_ACCOUNT_SID") or DEFAULT_ACCOUNT_SID)
    add("--auth-token", default=env.get("TWILIO_AUTH_TOKEN") or DEFAULT_AUTH_TOKEN)
    add("--webhook-url", default=DEFAULT_WEBHOOK_URL, help="inbound SMS webhook")
    add("--signing-url", default=None, help="URL signed over, if not --webhook-url")
    add("--messaging-service-sid", default=None, help="MG… sent with inbound texts")
    add("--latency-ms", type=int, default=0, help="delay before each REST answer")
    add("--failures", default="", help='e.g. "20429=0.1,500=0.05,21610=0.0"')
    add("--no-ambiguous-500-sends", action="store_true", help="a 500 sends nothing")
    add("--status-delay-ms", type=int, default=200, help="between status callbacks")
    add("--undeliverable", default="+15005550006", help="comma-separated numbers")
    add("--no-opt-out-tracking", action="store_true", help="ignore inbound STOP")
    add("--seed", type=int, default=None, help="seed of the failure draws")
    add(
        "--numbers",
        default=env.get("TWILIO_NUMBERS", ""),
        help="numbers the account owns, comma-separated E.164 (default $TWILIO_NUMBERS)",
    )
    add("--sms-incapable", default="", help="those of --numbers without SMS")
    add(
        "--number-sms-url",
        default=INBOUND_URL,
        help='each number\'s "A message comes in" URL (default: the URL inbound '
        'texts are signed over; "none" for no webhook)',
    )
    add(
        "--service-inbound-url",
        default=INBOUND_URL,
        help="the --messaging-service-sid's inbound request URL (default as above)",
    )
    add(
        "--service-uses-number-webhooks",
        action="store_true",
        help="the service defers to each number's own webhook",
    )
    add("--log-level", default="INFO")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        webhook_url=args.webhook_url or None,
        signing_url=args.signing_url,
        messaging_service_sid=args.messaging_service_sid,
        latency_ms=args.latency_ms,
        failures=parse_failures(args.failures),
        ambiguous_500_sends=not args.no_ambiguous_500_sends,
        status_delay_ms=args.status_delay_ms,
        undeliverable=parse_numbers(args.undeliverable),
        opt_out_tracking=not args.no_opt_out_tracking,
        seed=args.seed,
        numbers=tuple(sorted(parse_numbers(args.numbers))),
        sms_incapable=parse_numbers(args.sms_incapable),
        number_sms_url=_url_option(args.number_sms_url),
        service_inbound_url=_url_option(args.service_inbound_url),
        service_uses_number_webhooks=args.service_uses_number_webhooks,
    )


def _url_option(value: str) -> str | None:
    return None if value.strip().lower() in ("", "none") else value.strip()


def banner(config: EmulatorConfig, base_url: str) -> str:
    built_in = (config.account_sid, config.auth_token) == (
        DEFAULT_ACCOUNT_SID,
        DEFAULT_AUTH_TOKEN,
    )
    source = "built-in test credentials" if built_in else "given credentials"
    return "\n".join(
        [
            f"Twilio emulator on {base_url}",
            f"  AccountSid {config.account_sid}",
            f"  AuthToken  {config.auth_token}   ({source})",
            f"  inbound -> {config.webhook_url}",
            f"  signed over {config.signing_url or config.webhook_url}",
            f"  numbers    {', '.join(config.numbers) or '(none)'}",
            f'  twilio-python: client.api.base_url = "{base_url}"',
            f'                 client.messaging.base_url = "{base_url}"',
            f"  phone: python -m tools.phone --emulator {base_url} --from +1… --to +1…",
        ]
    )


async def serve(config: EmulatorConfig, host: str, port: int) -> None:
    """Run until SIGINT/SIGTERM, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_emulator(config, host=host, port=port) as base_url:
        print(banner(config, base_url), flush=True)
        await stop.wait()
        logger.info("stopping")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        require_loopback(args.host)
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    asyncio.run(serve(config, args.host, args.port))
    return 0
