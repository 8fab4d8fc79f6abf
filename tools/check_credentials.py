"""Are the Twilio settings right? `python -m tools.check_credentials` (`make
check-credentials`).

A wrong number or a webhook left pointing at an old host fails silently: Twilio
takes the customer's text and posts it somewhere else. So this asks Twilio's API,
with the settings the server uses (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_NUMBERS, TWILIO_MESSAGING_SERVICE_SID, TWILIO_API_BASE_URL, PUBLIC_URL),
whether the account is active, each number is in it and SMS-capable, and whether
incoming texts (a number's "A message comes in" webhook, or the Messaging
Service's inbound request URL) go to PUBLIC_URL/webhooks/twilio_sms/webhook by
HTTP POST. One line per check. Exit 0 when every check holds, 1 when one fails or
Twilio cannot be asked, 2 when a setting is missing or malformed. Numbers are
masked as in the logs; the auth token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from connectors.log_privacy import mask_number, redact, register_secret
from connectors.settings import SettingsError, SmsSettings

#: credentials.yml's key for each variable (credentials.yml reads them the same way).
ENV_NAMES = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "public_url": "PUBLIC_URL",
    "numbers": "TWILIO_NUMBERS",
    "messaging_service_sid": "TWILIO_MESSAGING_SERVICE_SID",
    "api_base_url": "TWILIO_API_BASE_URL",
    "redis_url": "REDIS_URL",
}
TIMEOUT_SECONDS = 15.0
WRONG_CREDENTIALS = "TWILIO_AUTH_TOKEN is wrong for this account (Twilio 20003)"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    ok: bool
    subject: str
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4}  {self.subject}: {self.detail}"


def settings_from_env(env: Mapping[str, str]) -> SmsSettings:
    """The channel's own settings parser, so this accepts exactly what the server
    accepts; its messages name credentials.yml keys, turned into variable names."""
    raw = {key: env.get(name, "") for key, name in ENV_NAMES.items()}
    try:
        return SmsSettings.from_credentials(raw)
    except SettingsError as error:
        message = str(error).removeprefix("twilio_sms: ")
        for key, name in ENV_NAMES.items():
            message = message.replace(f"twilio_sms.{key}", name)
            message = message.replace(f"`{key}`", name)
        raise SettingsError(message) from None


def messaging_base_url(api_base_url: str) -> str:
    """messaging.twilio.com for api.twilio.com (and its edge/region hosts such as
    api.dublin.ie1.twilio.com); any other base (the emulator, a proxy) serves both."""
    parts = urlsplit(api_base_url)
    host = parts.hostname or ""
    if host.startswith("api.") and host.endswith(".twilio.com"):
        netloc = parts.netloc.replace("api.", "messaging.", 1)
        return urlunsplit(parts._replace(netloc=netloc)).rstrip("/")
    return api_base_url.rstrip("/")


def twilio_client(settings: SmsSettings, env: Mapping[str, str]) -> Client:
    """twilio-python's own client, pointed where the server sends."""
    client = Client(
        settings.account_sid,
        settings.auth_token,
        environment=dict(env),
        http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.api_base_url
    client.messaging.base_url = messaging_base_url(settings.api_base_url)
    return client


def short_sid(sid: str) -> str:
    """AC…1234: enough to tell which account or service, short enough to read."""
    return f"{sid[:2]}…{sid[-4:]}"


def twilio_error(error: TwilioException) -> tuple[int | None, int | None, str]:
    """(HTTP status, Twilio code, message) of a failed fetch or list."""
    if isinstance(error, TwilioRestException):
        message = str(error.msg).removeprefix("Unable to fetch record: ")
        return error.status, error.code, message
    response = error.args[1] if len(error.args) > 1 else None
    status = getattr(response, "status_code", None)
    try:
        payload = json.loads(getattr(response, "text", ""))
        return status, payload.get("code"), str(payload.get("message", ""))
    except (TypeError, ValueError, AttributeError):
        return status, None, str(error.args[0] if error.args else error)


def unreachable(base_url: str, error: OSError) -> str:
    """A short reason from requests' long ConnectionError text."""
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(error))
    reason = found.group(1).strip() if found else type(error).__name__
    return f"cannot reach {base_url}: {reason}"


class Checker:
    """The checks, in the order an operator fixes things: the account, the
    Messaging Service, then each number."""

    def __init__(self, client: Client, settings: SmsSettings) -> None:
        self.client = client
        self.settings = settings
        self.expected = settings.public_url + settings.webhook_path
        self.account = client.api.v2010.accounts(settings.account_sid)

    def run(self) -> Iterator[Check]:
        yield self.check_account()
        pool: list[str] = []
        routed_by_service = False
        sid = self.settings.messaging_service_sid
        if sid:
            pool, routed_by_service, checks = self.check_service(sid)
            yield from checks
        for number in self.settings.numbers or tuple(pool):
            by_service = routed_by_service and number in pool
            yield from self.check_number(number, by_service)

    def check_account(self) -> Check:
        """A suspended or closed account sends and receives nothing."""
        subject = f"account {short_sid(self.settings.account_sid)}"
        account = self.account.fetch()
        if account.status != "active":
            return Check(False, subject, f"is {account.status}, expected active")
        return Check(True, subject, "active")

    def check_service(self, sid: str) -> tuple[list[str], bool, list[Check]]:
        """The service exists, holds the numbers, and sends texts to us. Returns
        its sender pool and whether it (not each number) decides the webhook."""
        subject = f"messaging service {short_sid(sid)}"
        service_api = self.client.messaging.v1.services(sid)
        try:
            service = service_api.fetch()
        except TwilioRestException as error:
            if error.status == 404:
                return [], False, [Check(False, subject, "not in this account")]
            raise
        checks = [Check(True, subject, f'exists ("{service.friendly_name}")')]
        pool = [n.phone_number for n in service_api.phone_numbers.list(limit=400)]
        if not pool:
            checks.append(Check(False, subject, "has no phone numbers"))
        for number in self.settings.numbers:
            has = number in pool
            what = "has" if has else "does not have"
            checks.append(Check(has, subject, f"{what} number {mask_number(number)}"))
        if not self.settings.numbers and pool:
            masked = ", ".join(mask_number(n) for n in pool)
            checks.append(Check(True, subject, f"has numbers {masked}"))
        if service.use_inbound_webhook_on_number:
            checks.append(
                Check(
                    True,
                    subject,
                    'incoming texts go to each number\'s own "A message comes in"',
                )
            )
            return pool, False, checks
        checks.append(self.check_inbound_url(subject, service))
        return pool, True, checks

    def check_inbound_url(self, subject: str, service: Any) -> Check:
        """Texts to the service's numbers go to its inbound request URL."""
        url = service.inbound_request_url or ""
        method = (service.inbound_method or "POST").upper()
        what = "incoming texts go to"
        if not url:
            detail = f"no inbound request URL, expected {self.expected}"
            return Check(False, subject, detail)
        if url != self.expected:
            return Check(False, subject, f"{what} {url}, expected {self.expected}")
        if method != "POST":
            detail = f"{what} {url} by HTTP {method}, expected HTTP POST"
            return Check(False, subject, detail)
        return Check(True, subject, f"{what} {url} (HTTP POST)")

    def check_number(self, number: str, by_service: bool) -> Iterator[Check]:
        """In the account, SMS-capable, and its texts reach us (through its own
        webhook, unless `by_service`: the service's URL was checked already)."""
        subject = f"number {mask_number(number)}"
        found = [
            n
            for n in self.account.incoming_phone_numbers.list(
                phone_number=number, limit=50
            )
            if n.phone_number == number
        ]
        if not found:
            yield Check(False, subject, "not in this account")
            return
        incoming = found[0]
        yield Check(True, subject, "in this account")
        capabilities = {
            str(k).lower(): v for k, v in (incoming.capabilities or {}).items()
        }
        sms = bool(capabilities.get("sms"))
        yield Check(sms, subject, "SMS-capable" if sms else "not SMS-capable")
        if by_service:
            sid = short_sid(self.settings.messaging_service_sid or "")
            yield Check(True, subject, f"incoming texts follow messaging service {sid}")
            return
        yield self.check_webhook(subject, incoming)

    def check_webhook(self, subject: str, incoming: Any) -> Check:
        """The number's "A message comes in": a webhook to us, by POST."""
        label = '"A message comes in"'
        url = incoming.sms_url or ""
        method = (incoming.sms_method or "POST").upper()
        if incoming.sms_application_sid:
            app = short_sid(incoming.sms_application_sid)
            return Check(
                False,
                subject,
                f"{label} goes to TwiML App {app}, expected {self.expected}",
            )
        if not url:
            return Check(
                False, subject, f"{label} has no webhook, expected {self.expected}"
            )
        if url != self.expected:
            return Check(False, subject, f"{label} is {url}, expected {self.expected}")
        if method != "POST":
            return Check(
                False, subject, f"{label} uses HTTP {method}, expected HTTP POST"
            )
        return Check(True, subject, f"{label} is {url} (HTTP POST)")


def checks(client: Client, settings: SmsSettings) -> Iterator[Check]:
    """Every check; a wrong token or an unreachable API ends them with one line."""
    account = f"account {short_sid(settings.account_sid)}"
    try:
        yield from Checker(client, settings).run()
    except TwilioException as error:
        status, code, message = twilio_error(error)
        if code == 20003 or status == 401:
            yield Check(False, account, WRONG_CREDENTIALS)
        elif code is not None and code != status:  # Twilio's own error body
            detail = f"answered HTTP {status}: {message} (Twilio {code})"
            yield Check(False, "Twilio API", detail)
        else:
            yield Check(False, "Twilio API", not_twilio(settings, f"HTTP {status}"))
    except OSError as error:  # requests' ConnectionError and Timeout are OSErrors
        yield Check(False, "Twilio API", unreachable(settings.api_base_url, error))
    except ValueError:  # a 200 whose body is not JSON
        yield Check(False, "Twilio API", not_twilio(settings, "a page"))


def not_twilio(settings: SmsSettings, answer: str) -> str:
    """Something answered, but not as Twilio's API does (a wrong base URL)."""
    return (
        f"{settings.api_base_url} answered {answer}, not as Twilio's API does: "
        "is TWILIO_API_BASE_URL right?"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.check_credentials",
        description=__doc__.split("\n\n")[1],
    )
    return parser.parse_args(argv)


def main(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> int:
    parse_args(argv)
    env = os.environ if env is None else env
    try:
        settings = settings_from_env(env)
    except SettingsError as error:
        print(f"check-credentials: {error}", file=sys.stderr)
        return 2
    register_secret(settings.auth_token)
    results = []
    for check in checks(twilio_client(settings, env), settings):
        results.append(check)
        print(redact(check.line()), flush=True)
    failed = sum(not c.ok for c in results)
    if failed:
        print(f"{failed} of {len(results)} checks failed")
        return 1
    print(f"all {len(results)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
