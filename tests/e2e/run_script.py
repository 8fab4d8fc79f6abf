"""`make run`'s script (scripts/run.sh) as the e2e tests start it.

Every port, log file and Redis database is the test's own, and no Twilio account is
set, so the script starts the local emulator as it does for a new user. With no
`redis_port`, the script starts its own Redis (data in the test's folder), as
`make run` does on a fresh machine.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis as redis_sync  # test side only: the servers under test use redis.asyncio

from tools.business_folder import business_folder
from tools.harness.redis_server import free_port
from tools.harness.sms_stack import API_TOKEN, SMS_API_KEY, http, with_token
from tools.harness.stopping import descendants, kill_all

ROOT = Path(__file__).parents[2]
MODEL = business_folder().model
BUSINESS = "+15017122661"
REST_SECRET = "e2e-rest-secret-0123456789"  # noqa: S105 - tests only


def wait_until(
    check: Callable[[], Any],
    what: str,
    timeout: float = 120,
    process: subprocess.Popen | None = None,
) -> None:
    """Poll `check` until it is true; a connection error counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            assert process.poll() is None, f"run script exited early (waiting: {what})"
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(what)


def answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2):  # noqa: S310
        return True


class RunScript:
    """scripts/run.sh in its own session; `stop()` kills whatever is left of it."""

    def __init__(
        self,
        workdir: Path,
        *,
        redis_port: int | None = None,
        app_db: int = 0,
        channel: dict[str, Any] | None = None,
        api_token: str | None = API_TOKEN,
        rest_secret: str | None = REST_SECRET,
    ) -> None:
        assert MODEL.exists(), "no trained model: run `make train` first"
        self.workdir = workdir
        self.rasa_port, self.action_port = free_port(), free_port()
        self.turns_port = free_port()  # the Rasa server, behind the ingress
        self.emulator_port = free_port()
        self.own_redis = redis_port is None
        self.redis_port = redis_port or free_port()
        self.redis_dir = workdir / "redis"
        self.app_db = app_db
        self.log = workdir / "run.log"
        self.api_token, self.rest_secret = api_token, rest_secret
        if not self.own_redis:
            # Databases emptied first: no other test's leftovers (an earlier booking
            # of the same number, a due inactivity entry) change what a test sees.
            redis_sync.Redis(port=self.redis_port, db=app_db).flushdb()
        # The project's own endpoints.yml: it follows ACTION_PORT and REDIS_URL.
        # The project's credentials.yml, with the test's channel settings added.
        credentials = workdir / "credentials.yml"
        header = "connectors.twilio_sms.TwilioSmsInput:\n"
        extra = "".join(f"  {k}: {v}\n" for k, v in (channel or {}).items())
        credentials.write_text(
            (ROOT / "credentials.yml").read_text().replace(header, header + extra)
        )
        env = {
            **os.environ,
            "RASA_PORT": str(self.rasa_port),
            "TURNS_PORT": str(self.turns_port),
            "ACTION_PORT": str(self.action_port),
            "EMULATOR_PORT": str(self.emulator_port),
            "REDIS_PORT": str(self.redis_port),
            "REDIS_DIR": str(self.redis_dir),
            "REDIS_URL": self.redis_url,
            "RASA_CREDENTIALS": str(credentials),
            "LOG_DIR": str(workdir / "logs"),
            # The business under test, as make passes it (BUSINESS=folder).
            "BUSINESS_MODEL": str(MODEL),
            "BUSINESS_FILE": str(business_folder().business_file),
            # The business API (make send, make send-reminders), open all day so
            # the tests pass at any hour.
            "SMS_API_KEYS": f"demo:{SMS_API_KEY}",
            "SMS_SEND_HOURS": "00:00-24:00",
        }
        for name in (
            "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN",
            "PUBLIC_URL",
            "RASA_ENDPOINTS",
        ):
            env.pop(name, None)  # no Twilio account: the script starts the emulator
        for name, value in (
            ("RASA_API_TOKEN", api_token),
            ("REST_CHANNEL_SECRET", rest_secret),
        ):
            env.pop(name, None)
            if value is not None:
                env[name] = value
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "run.sh")],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{self.app_db}"

    @property
    def rasa(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    def redis(self) -> redis_sync.Redis:
        return redis_sync.Redis.from_url(self.redis_url, decode_responses=True)

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Rasa's HTTP API, with the token the script was given."""
        assert self.api_token is not None, "started without RASA_API_TOKEN"
        return http(method, with_token(self.rasa + path, self.api_token), body)

    def rest(self, sender: str, text: str) -> list[str]:
        """One turn over the REST channel, with its secret header: the replies."""
        assert self.rest_secret is not None, "started without REST_CHANNEL_SECRET"
        status, body = http(
            "POST",
            f"{self.rasa}/webhooks/rest/webhook",
            {"sender": sender, "message": text},
            headers={"X-Rest-Secret": self.rest_secret},
        )
        assert status == 200, body
        return [m.get("text", "") for m in body]

    def redis_pid(self) -> int | None:
        """The Redis the script started, if it started one."""
        if not self.own_redis:
            return None
        return int((self.redis_dir / "redis.pid").read_text())

    def pids(self) -> list[int]:
        """The script, every process below it, and the Redis it started."""
        redis_pid = self.redis_pid()
        return descendants(self.process.pid) + ([redis_pid] if redis_pid else [])

    def wait_up(self) -> RunScript:
        for url in (
            f"http://127.0.0.1:{self.action_port}/health",
            f"{self.rasa}/webhooks/twilio_sms/",  # the ingress
            f"http://127.0.0.1:{self.turns_port}/webhooks/twilio_sms/",  # Rasa
            f"{self.emulator}/_emulator/health",
        ):
            wait_until(lambda u=url: answers(u), url, 300, self.process)
        return self

    def text(self, customer: str, body: str) -> None:
        """A text as Twilio sends it: the emulator signs and posts the webhook."""
        status, result = http(
            "POST",
            f"{self.emulator}/_emulator/inbound",
            {"from": customer, "to": BUSINESS, "body": body},
        )
        assert status == 200, result

    def sent_to(self, customer: str) -> list[str]:
        number = customer.replace("+", "%2B")
        status, result = http("GET", f"{self.emulator}/_emulator/messages?to={number}")
        assert status == 200, result
        return [m["body"] for m in result["messages"]]

    def kill(self) -> None:
        """Teardown: SIGKILL whatever is still running (a test stops it first)."""
        kill_all(descendants(self.process.pid))
        if self.process.poll() is None:
            self.process.kill()
        try:
            redis_pid = self.redis_pid()
        except (OSError, ValueError):  # the script never got to start it
            redis_pid = None
        if redis_pid:
            kill_all([redis_pid])
