"""X-Twilio-Signature checks against the URL Twilio was given, not the one we see.

Behind ngrok, nginx or a load balancer the server sees `http://10.0.0.5:5005`, while
Twilio signed `https://bot.example.com`. The signed URL is therefore rebuilt from the
configured public URL. X-Forwarded-* headers are used only when the operator says the
proxy in front is trusted: from anyone else they would let a forger pick the URL.
Even then only their last value counts: a proxy appends what it saw to whatever the
client sent, so the first value is the client's own choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twilio.request_validator import RequestValidator


class _Form(dict[str, list[str]]):
    """Repeated form names keep every value, as Twilio signs them."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def signed_url(
    public_url: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str] | None = None,
    trust_forwarded: bool = False,
) -> str:
    """The URL Twilio called: public base + path + query (the #fragment is unsigned)."""
    base = public_url.rstrip("/")
    if trust_forwarded and headers:
        proto = _last(headers, "x-forwarded-proto")
        host = _last(headers, "x-forwarded-host")
        if proto in ("http", "https") and host:
            base = f"{proto}://{host}"
    return base + path + (f"?{query_string}" if query_string else "")


def _last(headers: Mapping[str, str], name: str) -> str:
    """The value the nearest (trusted) proxy added, whether it appended to the
    client's header (comma separated) or sent a header line of its own."""
    getall = getattr(headers, "getall", None)
    values = getall(name, []) if getall else [headers.get(name) or ""]
    return ",".join(values).split(",")[-1].strip()


def is_valid(
    auth_token: str,
    url: str,
    form: Mapping[str, Sequence[str]],
    signature: str | None,
) -> bool:
    """RequestValidator does the HMAC, the sorting and the :443/:80 retry."""
    if not signature:
        return False
    params = _Form({name: list(values) for name, values in form.items()})
    return bool(RequestValidator(auth_token).validate(url, params, signature))
