"""Where the guard gets Rasa's token, and how the REST channel reads its secret.

The guard itself is tested against the real server started by `make run`'s script
(tests/e2e/test_run_and_book.py): every route but the SMS ones answers 401.
"""

from __future__ import annotations

import pytest

from connectors import access
from connectors.rest_channel import RestChannel, RestSettingsError


def test_the_token_is_the_one_rasa_was_started_with() -> None:
    argv = ["rasa", "run", "--enable-api", "--auth-token", "from-argv-0123456789"]
    env = {"RASA_API_TOKEN": "from-env-0123456789"}
    assert access.api_token(argv, env) == "from-argv-0123456789"
    assert access.api_token(["rasa", "--auth-token=x"], {}) == "x"
    assert access.api_token(["rasa", "run"], env) == "from-env-0123456789"
    assert access.api_token(["rasa", "run"], {}) is None
    assert access.api_token(["rasa", "run"], {"RASA_API_TOKEN": ""}) is None


def test_secrets_compare_whole() -> None:
    assert access.same_secret("s3cret-0123456789", "s3cret-0123456789")
    assert not access.same_secret("s3cret-012345678", "s3cret-0123456789")
    assert not access.same_secret("", "s3cret-0123456789")
    assert not access.same_secret(None, "s3cret-0123456789")


def test_rest_is_off_without_a_secret() -> None:
    for credentials in (None, {}, {"secret": ""}, {"secret": None}):
        channel = RestChannel.from_credentials(credentials)
        assert isinstance(channel, RestChannel) and channel.secret is None

        async def handler(_message: object) -> None:
            return None

        blueprint = channel.blueprint(handler)
        assert blueprint._future_routes == set()  # no route at all


def test_rest_with_a_secret_serves_its_routes() -> None:
    channel = RestChannel.from_credentials({"secret": "a-long-enough-secret"})
    assert isinstance(channel, RestChannel)

    async def handler(_message: object) -> None:
        return None

    blueprint = channel.blueprint(handler)
    assert {route.uri for route in blueprint._future_routes} == {"/", "/webhook"}


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"secret": "short"}, "at least 16 characters"),
        ({"secret": "a-long-enough-secret", "token": "x"}, "unknown setting"),
    ],
)
def test_rest_settings_errors_name_the_setting(
    credentials: dict[str, str], message: str
) -> None:
    with pytest.raises(RestSettingsError, match=message):
        RestChannel.from_credentials(credentials)


async def test_keyed_paths_take_the_header_or_a_bearer_and_only_static_pages_are_open() -> (
    None
):
    """The dashboard's page opens without a key (it holds no data); its data, the
    metrics and anything else under /sms/ need one, in X-API-Key or as a Bearer
    token (what a Prometheus scrape config sends)."""
    import uuid

    from sanic import Sanic, response

    from api.keys import ApiKeys

    key = "ops-key-0123456789abcdef"
    app = Sanic(f"guard-{uuid.uuid4().hex[:8]}")
    guard = access.Guard(None)
    guard.require_key("/sms/", ApiKeys.from_env({"SMS_API_KEYS": f"ops:{key}"}))
    guard.require_key("/metrics", ApiKeys.from_env({"SMS_API_KEYS": f"ops:{key}"}))
    guard.allow({"/sms/dashboard"})
    app.register_middleware(guard, "request")

    @app.route("/sms/dashboard", methods=["GET", "POST"])
    async def page(_request: object) -> response.HTTPResponse:
        return response.text("page")

    @app.get("/sms/analytics")
    async def data(request: object) -> response.HTTPResponse:
        return response.text(request.ctx.api_key)  # type: ignore[attr-defined]

    @app.get("/metrics")
    async def metrics(_request: object) -> response.HTTPResponse:
        return response.text("metrics")

    async def status(method: str, path: str, **headers: str) -> int:
        _request, answer = await app.asgi_client.request(method, path, headers=headers)
        return answer.status

    assert await status("GET", "/sms/dashboard") == 200
    assert await status("POST", "/sms/dashboard") == 401  # only GET is open
    assert await status("GET", "/sms/analytics") == 401
    assert await status("GET", "/sms/analytics", **{"X-API-Key": key}) == 200
    assert await status("GET", "/sms/analytics", authorization=f"Bearer {key}") == 200
    assert await status("GET", "/sms/analytics", authorization=f"Basic {key}") == 401
    assert await status("GET", "/metrics") == 401
    assert await status("GET", "/metrics", authorization=f"bearer {key}") == 200
    assert (
        await status("GET", "/metrics", authorization="Bearer wrong-0123456789") == 401
    )
