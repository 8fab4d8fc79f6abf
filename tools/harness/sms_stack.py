"""A whole SMS stack as real processes: Twilio emulator, action server, Rasa server.

Texts go in the way Twilio sends them (the emulator signs and posts the webhook);
replies come back through twilio-python's async client into the emulator, whose log
the tests read. Only the settings differ from `make run`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis as redis_sync  # driven from outside; the servers use redis.asyncio

from redisio import keys as redis_keys
from tools.business_folder import business_folder
from tools.harness.processes import spawn
from tools.harness.redis_cluster import BlockingClusterClient
from tools.harness.redis_server import RedisServer, free_port
from tools.harness.stopping import dump_stacks, group_members

ROOT = Path(__file__).parents[2]
#: The business under test (BUSINESS: this repository's own, or a folder such as
#: examples/salon): its model and its business file, which every server here reads.
FOLDER = business_folder()
MODEL = FOLDER.model
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "e2e-auth-token"  # noqa: S105 - the emulator's test token
API_TOKEN = "e2e-rasa-api-token-0123456789"  # noqa: S105 - Rasa's HTTP API, tests only
BUSINESS = "+15017122661"
#: The business API's key in every stack (SMS_API_KEYS), named "e2e".
SMS_API_KEY = "e2e-sms-api-key-0123456789"  # noqa: S105 - tests only
BIN = ROOT / ".venv" / "bin"
#: Rasa's own Twilio channel, Twilio's host pointed at the emulator: the bench's R.
BASELINE_CHANNEL = "bench.baseline_channel.RedirectedTwilioInput"
STOP_WITHIN = 10.0  # seconds a server may take to exit after SIGTERM


def http(
    method: str,
    url: str,
    body: Any = None,
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - http URLs of the stack
        url,
        data,
        {"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def with_token(url: str, token: str = API_TOKEN) -> str:
    """A Rasa HTTP API URL with the credential Rasa checks (`?token=`)."""
    return url + ("&" if "?" in url else "?") + f"token={token}"


def wait_for(url: str, processes: list[subprocess.Popen], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"{process.args[:3]} exited early"
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


@dataclass
class SmsStack:
    redis_server: RedisServer
    workdir: Path
    settings: dict[str, Any] = field(default_factory=dict)
    db: int = 3
    tracker_store: str = "stores.tracker_store.RedisSessionTrackerStore"
    lock_store: str = "stores.lock_store.RedisTicketLockStore"
    debug: bool = False  # --debug for the Rasa and action servers
    store_options: dict[str, Any] = field(default_factory=dict)  # tracker store
    #: Rasa's own multi-process mode (SANIC_WORKERS): server processes per `rasa run`.
    sanic_workers: int = 1
    #: `make run`'s layout: connectors.ingress on the public port answers Twilio and
    #: forwards the rest; the Rasa server listens on `turns_port` behind it.
    ingress: bool = False
    #: "twilio_sms" (this project's channel) or "twilio" (Rasa's, BASELINE_CHANNEL).
    channel: str = "twilio_sms"
    rasa_port: int = field(default_factory=free_port)
    turns_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    emulator_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    #: The Rasa servers' environment for the business API (api/settings.py); by
    #: default one key and no quiet hours, so tests pass at any time of day.
    api_env: dict[str, str] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return self.redis_server.url_for(self.db)

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def webhook(self) -> str:
        return f"{self.public_url}/webhooks/{self.channel}/webhook"

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def redis(self) -> redis_sync.Redis:  # noqa: TID251 - drives from outside
        """A blocking client of the stack's db, to look at what the servers stored."""
        if self.redis_server.cluster:  # same commands, routed by key slot
            return BlockingClusterClient.from_url(  # type: ignore[return-value]
                self.redis_url, decode_responses=True
            )
        return redis_sync.Redis.from_url(  # noqa: TID251
            self.redis_url, decode_responses=True
        )

    def api(self, path: str) -> str:
        """A Rasa HTTP API URL of this stack, with its token."""
        return with_token(self.public_url + path)

    def business_api(
        self, method: str, path: str, body: Any = None, key: str = SMS_API_KEY
    ) -> tuple[int, Any]:
        """A request to the business API (/sms/…) with its key."""
        return http(method, self.public_url + path, body, headers={"X-API-Key": key})

    # --- processes ---------------------------------------------------------------

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.processes[name] = spawn(self.workdir, name, args, env)

    def start(self, replicas: Sequence[tuple[str, int]] = ()) -> SmsStack:
        """Every process; `replicas` (name, port) are more Rasa servers, started
        with the first so their models load at the same time."""
        assert MODEL.exists(), "no trained model: run `make train` first"
        self.redis().flushdb()
        trackers = self.redis_server.url_for(self.db + 1)
        redis_sync.Redis.from_url(trackers).flushdb()  # noqa: TID251
        self._spawn(
            "emulator",
            [
                str(BIN / "python"),
                "-m",
                "tools.emulator",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.emulator_port),
                "--account-sid",
                ACCOUNT_SID,
                "--auth-token",
                AUTH_TOKEN,
                "--webhook-url",
                self.webhook,
                "--status-delay-ms",
                "50",
            ],
            {},
        )
        self._spawn(
            "actions",
            [str(BIN / "rasa"), "run", "actions", "--actions", "actions"]
            + ["--port", str(self.action_port)]
            + (["--debug"] if self.debug else []),
            {
                "SANIC_HOST": "127.0.0.1",
                "REDIS_URL": self.redis_url,
                "BUSINESS_FILE": str(FOLDER.business_file),
            },
        )
        waiting = [(self.start_rasa(wait=False), "rasa")]
        waiting += [(self.start_rasa(n, p, wait=False), n) for n, p in replicas]
        for health, name in waiting:
            wait_for(health, [self.processes[name]])
        if self.ingress:
            self.start_ingress()
        wait_for(f"{self.emulator}/_emulator/health", list(self.processes.values()))
        wait_for(
            f"http://127.0.0.1:{self.action_port}/health", list(self.processes.values())
        )
        return self

    def server_env(self) -> dict[str, str]:
        """What the ingress and the Rasa servers share, as `make run` gives both:
        the business API's settings and one directory for their metrics."""
        metrics = self.workdir / "metrics"
        metrics.mkdir(exist_ok=True)
        return {
            "SMS_API_KEYS": f"e2e:{SMS_API_KEY}",
            "SMS_SEND_HOURS": "00:00-24:00",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            "BUSINESS_FILE": str(FOLDER.business_file),
            **self.api_env,
        }

    def start_ingress(self) -> None:
        """The ingress on the public port, with the first Rasa server's settings."""
        self._spawn(
            "ingress",
            [str(BIN / "python"), "-m", "connectors.ingress"]
            + ["--port", str(self.rasa_port)]
            + ["--upstream", f"http://127.0.0.1:{self.turns_port}"]
            + ["--credentials", str(self.workdir / "credentials-rasa.yml")],
            self.server_env(),
        )
        wait_for(f"{self.public_url}/webhooks/twilio_sms/", [self.processes["ingress"]])

    def start_rasa(
        self, name: str = "rasa", port: int | None = None, wait: bool = True
    ) -> str:
        """The Rasa server; another `name` and `port` start a replica beside it
        (same Redis, same settings; Twilio's webhook still points at the first, or
        at the ingress). `wait=False` returns its health URL at once, so several
        load their models at the same time (`wait_for` it later)."""
        port = port or (self.turns_port if self.ingress else self.rasa_port)
        settings = {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "public_url": self.public_url,
            "numbers": BUSINESS,
            "api_base_url": self.emulator,
            "redis_url": self.redis_url,
            "owner_lease_seconds": 2,
            "send_timeout_seconds": 45,
            "send_attempts": 10,
            "reclaim_after_seconds": 1,
            "sweep_interval_seconds": 0.5,
            **self.settings,
        }
        credentials = self.workdir / f"credentials-{name}.yml"
        if self.channel == "twilio":
            settings = {
                "account_sid": ACCOUNT_SID,
                "auth_token": AUTH_TOKEN,
                "twilio_number": BUSINESS,
                "api_base_url": self.emulator,
            }
        section = "connectors.twilio_sms.TwilioSmsInput"
        credentials.write_text(
            f"{BASELINE_CHANNEL if self.channel == 'twilio' else section}:\n"
            + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in settings.items())
        )
        store = f"  url: 127.0.0.1\n  port: {self.redis_server.port}\n"
        store += f"  db: {0 if self.redis_server.cluster else self.db + 1}\n"
        if self.redis_server.password:
            store += f"  password: {self.redis_server.password}\n"
        endpoints = self.workdir / "endpoints.yml"
        options = "".join(f"  {k}: {v}\n" for k, v in self.store_options.items())
        endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n'
            f"tracker_store:\n  type: {self.tracker_store}\n{store}{options}"
            f"lock_store:\n  type: {self.lock_store}\n{store}"
        )
        self._spawn(
            name,
            [
                str(BIN / "rasa"),
                "run",
                "--model",
                str(MODEL),
                "--enable-api",
                "--auth-token",
                API_TOKEN,
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
                "--credentials",
                str(credentials),
                "--endpoints",
                str(endpoints),
            ]
            + (["--debug"] if self.debug else []),
            {
                **self.server_env(),
                **(
                    {"SANIC_WORKERS": str(self.sanic_workers)}
                    if self.sanic_workers > 1
                    else {}
                ),
            },
        )
        health = f"http://127.0.0.1:{port}/webhooks/{self.channel}/"
        if wait:
            wait_for(health, [self.processes[name]])
        return health

    def restart_rasa(self, **settings: Any) -> None:
        """The same stack with other channel settings (the Rasa server restarts)."""
        self.kill("rasa", signal.SIGTERM)
        if self.ingress:
            self.kill("ingress", signal.SIGTERM)
        self.settings = settings
        self.start_rasa()
        if self.ingress:
            self.start_ingress()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process's group; it must be gone within 10 s.

        One that is not gets its py-spy stacks taken, is killed, and fails the test
        with them: a stop that hangs is a defect, not something to wait out.
        """
        process = self.processes[name]
        if process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            stacks = dump_stacks(group_members(process.pid))
            (self.workdir / f"{name}-stacks.txt").write_text(stacks)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            raise AssertionError(
                f"{name} still running {STOP_WITHIN:g} s after signal {sig}; "
                f"stacks:\n{stacks}"
            ) from None

    def stop(self) -> None:
        """Teardown: SIGTERM each process; one that hangs is killed, then reported."""
        hung = []
        for name in list(self.processes):
            try:
                self.kill(name, signal.SIGTERM)
            except AssertionError as err:
                hung.append(str(err))
        assert not hung, "\n".join(hung)

    # --- texting -------------------------------------------------------------------

    def text(
        self, customer: str, body: str, *, to: str = BUSINESS, **extra: Any
    ) -> dict[str, Any]:
        """Send a text as Twilio would; returns the emulator's record of the webhook."""
        status, result = http(
            "POST",
            f"{self.emulator}/_emulator/inbound",
            {"from": customer, "to": to, "body": body, **extra},
        )
        assert status == 200, result
        return result

    def sent_to(self, customer: str) -> list[dict[str, Any]]:
        status, result = http(
            "GET",
            f"{self.emulator}/_emulator/messages?to={customer.replace('+', '%2B')}",
        )
        assert status == 200, result
        return result["messages"]

    def replies(
        self, customer: str, count: int, timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Wait until `count` texts went to the customer; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.sent_to(customer)
            if len(messages) >= count:
                return messages
            time.sleep(0.2)
        raise AssertionError(
            f"{customer} got {len(self.sent_to(customer))} texts, expected {count}"
        )

    def settled(self, customer: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Everything sent to the customer once their inbox queue is empty.

        An entry leaves the queue only after its turn ran and its replies were
        handed to Twilio, so by then every text accepted so far has been answered:
        a "nothing more came" check after this waits on that, not on a clock.
        """
        queue = redis_keys.queue(customer)
        db = self.redis()
        deadline = time.monotonic() + timeout
        while (left := db.llen(queue)) > 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"{customer}'s queue still holds {left} texts")
            time.sleep(0.1)
        return self.sent_to(customer)

    def quiet(self, customer: str, seconds: float) -> list[dict[str, Any]]:
        """Everything sent to the customer after waiting `seconds`: only for waits
        that are what a test is about (an idle timeout running out); after a turn,
        `settled` says when nothing more can come."""
        time.sleep(seconds)
        return self.sent_to(customer)

    def emulator_config(self, **config: Any) -> None:
        status, result = http("POST", f"{self.emulator}/_emulator/config", config)
        assert status == 200, result

    def tracker(self, customer: str) -> dict[str, Any]:
        status, result = http("GET", self.api(f"/conversations/{customer}/tracker"))
        assert status == 200, result
        return result

    def user_texts(self, customer: str) -> list[str]:
        return [
            e.get("text")
            for e in self.tracker(customer)["events"]
            if e["event"] == "user"
        ]
