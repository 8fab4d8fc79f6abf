"""docs/openapi.yaml against the live business API (the `business_stack`: the real
Rasa server behind the ingress, the action server, Redis and the Twilio emulator).

The document is valid OpenAPI and its examples fit its schemas; requests that
schemathesis generates from it get answers it describes (no undocumented status,
content type or body, no 5xx but its 502 and 503); and every status code it
documents is one the server really gives, each reached by a request made for it.

The stack is shared with test_outbound_api.py, which runs after this module, so
this one uses the "fuzz" API key only (its own rate-limit bucket and idempotency
keys), never texts that module's numbers (+1415666xxxx), and leaves nothing it
would see: the texts it queued for sending hours are deleted and the
conversations it handed to a person are given back.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, reject, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.idempotency import digest, fingerprint
from api.outbound_request import read_request
from redisio import keys as redis_keys
from tests.e2e.conftest import FUZZ_KEY
from tests.properties import property_settings
from tools.harness.sms_stack import BUSINESS, ROOT, SmsStack

DOC = ROOT / "docs" / "openapi.yaml"
RAW: dict[str, Any] = yaml.safe_load(DOC.read_text())
SCHEMA = schemathesis.openapi.from_path(DOC)
METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (method.upper(), path)
    for path, item in RAW["paths"].items()
    for method in item
    if method in METHODS
]
KEY_NAME = "fuzz"  # FUZZ_KEY's name in the stack's SMS_API_KEYS
#: Generated requests per operation and mode (a fifth under make test-fast).
EXAMPLES = 30
#: Numbers generated requests must not text: test_outbound_api.py's customers,
#: and the business's own number.
PROTECTED = ("+1415666", BUSINESS)
#: The emulator's magic numbers (Twilio's test numbers): sends to them fail.
NOT_A_NUMBER = "+15005550001"  # 21211
NOT_A_MOBILE = "+15005550009"  # 21614
#: Bodies over the API's 64 KB cap.
TOO_LARGE = b'{"message": "' + b"x" * (70 * 1024) + b'"}'
#: What each answer is checked for: a documented status, content type, body and
#: headers (Retry-After on a 429).
CONFORMANCE = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: Documented, but not answered by a server that is running.
UNREACHABLE = {
    (method, path, 503): (
        "503 starting is answered only before the channel has started (its "
        "routes exist, the API behind them not yet); a running server is past it"
    )
    for method, path in OPERATIONS
}


def phone(n: int) -> str:
    """This module's customers: a range no other business module texts."""
    return f"+1415777{n:04d}"


@pytest.fixture(scope="module")
def stack(business_stack: SmsStack) -> Iterator[SmsStack]:
    """The shared stack, tidied afterwards for the modules that come next."""
    handed_off = [phone(2), NOT_A_MOBILE]
    yield business_stack
    db = business_stack.redis()
    for job_id, raw in db.hgetall(redis_keys.DEFERRED_JOBS).items():
        if json.loads(raw)["key_name"] == KEY_NAME:
            db.hdel(redis_keys.DEFERRED_JOBS, job_id)
            db.zrem(redis_keys.DEFERRED_DUE, job_id)
            db.zrem(redis_keys.DEFERRED_TAKEN, job_id)
    for customer in handed_off:
        if db.hexists(redis_keys.HANDOFF_PENDING, customer):
            call(business_stack, "POST", f"/sms/handoff/{customer}/resume")
    assert not [
        raw
        for raw in db.hvals(redis_keys.DEFERRED_JOBS)
        if json.loads(raw)["key_name"] == KEY_NAME
    ]


class LiteralPlus(requests.Session):
    """Sends a conversation id's `+` as is, the way the guide writes it;
    schemathesis percent-encodes path parameters (`%2B14155552671`), which
    test_a_percent_encoded_plus_in_a_conversation_id_is_decoded covers."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        if request.url:
            request.url = request.url.replace("%2B", "+")
        return super().send(request, **kwargs)


def call(
    stack: SmsStack,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    key: str | None = FUZZ_KEY,
) -> requests.Response:
    """One request to the business API, as a client would send it."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-API-Key"] = key
    data = raw if raw is not None else None if body is None else json.dumps(body)
    return requests.request(
        method, stack.public_url + path, data=data, headers=headers, timeout=60
    )


def call_past_the_rate_limit(
    stack: SmsStack, path: str, body: Any = None, *, raw: bytes | None = None
) -> requests.Response:
    """POST, again after Retry-After while the fuzz key's bucket is empty (the
    generated requests may have drained it)."""
    for _ in range(30):
        response = call(stack, "POST", path, body, raw=raw)
        if response.status_code != 429:
            break
        time.sleep(float(response.headers["Retry-After"]))
    return response


# --- the document ------------------------------------------------------------------


def test_the_document_is_valid_openapi() -> None:
    assert RAW["openapi"].startswith("3.0")
    SCHEMA.validate()  # against the OpenAPI 3.0 meta-schema
    assert len(OPERATIONS) == 7
    scheme = RAW["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == (
        "apiKey",
        "header",
        "X-API-Key",
    )
    assert RAW["security"] == [{"ApiKey": []}]


def follow(node: Any) -> Any:
    """A `$ref` within this document, followed."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = RAW
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def examples_of(media: dict[str, Any]) -> list[Any]:
    found = [media["example"]] if "example" in media else []
    found += [follow(e)["value"] for e in media.get("examples", {}).values()]
    return found


def valid(instance: Any, schema: dict[str, Any]) -> None:
    """As OpenAPI 3.0 reads a schema (draft 4 with `nullable`)."""
    validator = jsonschema.Draft4Validator(
        schema,
        resolver=jsonschema.RefResolver("", with_nullable(RAW)),
        format_checker=jsonschema.FormatChecker(),
    )
    validator.validate(instance)


def with_nullable(node: Any) -> Any:
    """`nullable: true` spelled the way JSON Schema knows."""
    if isinstance(node, list):
        return [with_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: with_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


def test_every_answer_has_a_schema_and_an_example_that_fits_it() -> None:
    for method, path in OPERATIONS:
        operation = RAW["paths"][path][method.lower()]
        assert operation.get("operationId") and operation.get("summary"), path
        body = operation.get("requestBody")
        if body:
            media = body["content"]["application/json"]
            assert examples_of(media), (method, path, "request example")
            for example in examples_of(media):
                valid(example, with_nullable(media["schema"]))
        for status, answer in operation["responses"].items():
            answer = follow(answer)
            assert answer.get("description"), (method, path, status)
            media = answer["content"]["application/json"]
            assert examples_of(media), (method, path, status, "no example")
            for example in examples_of(media):
                valid(example, with_nullable(media["schema"]))


# --- generated requests -------------------------------------------------------------


def protected(case: schemathesis.Case) -> bool:
    numbers = [str((case.path_parameters or {}).get("conversation_id", ""))]
    if isinstance(case.body, dict):
        numbers.append(str(case.body.get("to", "")))
    return any(n.startswith(PROTECTED) for n in numbers)


@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)
def test_generated_requests_get_documented_answers(
    stack: SmsStack, method: str, path: str
) -> None:
    """The document's own examples, then requests that fit it and requests that
    break it: each answer is documented (status, content type, body), and none is
    a 5xx but the documented 502 and 503."""
    operation = SCHEMA[path][method]
    session = LiteralPlus()
    answers: Counter[int] = Counter()

    def check(case: schemathesis.Case) -> None:
        if protected(case):
            reject()
        response = case.call(
            base_url=stack.public_url,
            session=session,
            headers={"X-API-Key": FUZZ_KEY},
            timeout=60,
        )
        answers[response.status_code] += 1
        checks = list(CONFORMANCE)
        if response.status_code not in (502, 503):  # else: as documented
            checks.append(not_a_server_error)
        case.validate_response(response, checks=checks)

    strategies = [
        *SCHEMA.get_strategies_from_examples(operation),
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    for strategy in strategies:
        run = settings(
            property_settings(EXAMPLES),
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(case=strategy)(check))
        run()
    assert sum(answers.values()) >= 10, answers


# --- every documented status code ---------------------------------------------------


OUTBOUND, WAITING = "/sms/outbound", "/sms/handoff"
REPLY = "/sms/handoff/{conversation_id}/reply"
RESUME = "/sms/handoff/{conversation_id}/resume"
ANALYTICS, LISTED = "/sms/analytics", "/sms/conversations"
THREAD = "/sms/conversations/{conversation_id}"
Send = Callable[[], requests.Response]


def documented() -> set[tuple[str, str, int]]:
    return {
        (method, path, int(status))
        for method, path in OPERATIONS
        for status in RAW["paths"][path][method.lower()]["responses"]
    }


def test_every_documented_status_code_is_answered(stack: SmsStack) -> None:
    """For each (method, path, status) the document lists, a request made to get
    it gets it, with a body and headers the document describes; those a running
    server does not give are in UNREACHABLE, with the reason."""

    def post(path: str, body: Any = None, **kw: Any) -> Send:
        if path == OUTBOUND and kw.get("key", FUZZ_KEY):
            return lambda: call_past_the_rate_limit(stack, path, body, **kw)
        return lambda: call(stack, "POST", path, body, **kw)

    def get(path: str, **kw: Any) -> Send:
        return lambda: call(stack, "GET", path, **kw)

    def reply(customer: str, body: Any = None, **kw: Any) -> Send:
        return post(f"/sms/handoff/{customer}/reply", body, **kw)

    def resume(customer: str, **kw: Any) -> Send:
        return post(f"/sms/handoff/{customer}/resume", **kw)

    in_progress = start_a_request_that_finds_its_key_in_progress(stack)
    # The customers: one opted out, two handed to a person (one on a number the
    # emulator refuses to text), one the business texted, one never seen.
    opted_out, handed_off, texted, unknown = phone(1), phone(2), phone(3), phone(9)
    stack.text(opted_out, "STOP")
    stack.settled(opted_out)
    stack.text(handed_off, "can i talk to a person")
    stack.replies(handed_off, 1)
    stack.text(NOT_A_MOBILE, "can i talk to a person")
    stack.settled(NOT_A_MOBILE)
    waiting = call(stack, "GET", WAITING).json()["waiting"]
    assert {handed_off, NOT_A_MOBILE} <= {w["conversation_id"] for w in waiting}
    hi = {"message": "hi"}
    once = {"to": texted, **hi, "urgent": True, "idempotency_key": "openapi-once"}
    first = post(OUTBOUND, once)()
    assert first.status_code == 202, first.text

    # (status, method, path as documented, the request, what its body says), in
    # this order: the hand-offs are answered, then resumed.
    # fmt: off
    table: list[tuple[int, str, str, Send, dict[str, Any]]] = [
        (202, "POST", OUTBOUND, post(OUTBOUND, {"to": texted, **hi, "urgent": True}), {"status": "sent"}),
        (202, "POST", OUTBOUND, post(OUTBOUND, {"to": phone(5), **hi, "when_allowed": True}), {"status": "queued", "message_sids": []}),
        (202, "POST", OUTBOUND, post(OUTBOUND, once), first.json()),  # the same answer again
        (400, "POST", OUTBOUND, post(OUTBOUND, {"to": "4155550100", **hi}), {"error": "invalid_number"}),
        (400, "POST", OUTBOUND, post(OUTBOUND, raw=b"{"), {"error": "invalid_json"}),
        (400, "POST", OUTBOUND, post(OUTBOUND, {"to": texted, **hi, "slots": {"nope": 1}}), {"error": "unknown_slot"}),
        (401, "POST", OUTBOUND, post(OUTBOUND, {}, key=None), {"error": "unauthorized"}),
        (409, "POST", OUTBOUND, post(OUTBOUND, {"to": opted_out, **hi, "urgent": True}), {"error": "opted_out"}),
        (409, "POST", OUTBOUND, post(OUTBOUND, {"to": handed_off, **hi, "urgent": True}), {"error": "handed_off"}),
        (409, "POST", OUTBOUND, post(OUTBOUND, {**once, "message": "Other"}), {"error": "idempotency_conflict"}),
        (413, "POST", OUTBOUND, post(OUTBOUND, raw=TOO_LARGE), {"error": "too_large"}),
        (422, "POST", OUTBOUND, post(OUTBOUND, {"to": texted, **hi}), {"error": "quiet_hours"}),
        (422, "POST", OUTBOUND, post(OUTBOUND, {"to": texted, "template": "reminder", "urgent": True}), {"error": "nothing_to_send"}),
        (502, "POST", OUTBOUND, post(OUTBOUND, {"to": NOT_A_NUMBER, **hi, "urgent": True}), {"twilio_code": 21211, "retryable": False}),
        (200, "GET", WAITING, get(WAITING), {}),
        (401, "GET", WAITING, get(WAITING, key=None), {"error": "unauthorized"}),
        (202, "POST", REPLY, reply(handed_off, {"message": "Hi, Dana here."}), {"conversation_id": handed_off}),
        (400, "POST", REPLY, reply(handed_off, {"message": " "}), {"error": "empty_message"}),
        (400, "POST", REPLY, reply(handed_off, {**hi, "to": texted}), {"error": "invalid_request"}),
        (400, "POST", REPLY, reply("not-a-number", hi), {"error": "invalid_number"}),
        (401, "POST", REPLY, reply(handed_off, hi, key=None), {"error": "unauthorized"}),
        (404, "POST", REPLY, reply(unknown, hi), {"error": "not_found"}),
        (409, "POST", REPLY, reply(texted, hi), {"error": "not_handed_off"}),
        (413, "POST", REPLY, reply(handed_off, raw=TOO_LARGE), {"error": "too_large"}),
        (502, "POST", REPLY, reply(NOT_A_MOBILE, hi), {"twilio_code": 21614}),
        (200, "POST", RESUME, resume(handed_off), {"status": "resumed"}),
        (200, "POST", RESUME, resume(NOT_A_MOBILE), {"status": "resumed"}),
        (409, "POST", RESUME, resume(handed_off), {"error": "not_handed_off"}),
        (400, "POST", RESUME, resume("not-a-number"), {"error": "invalid_number"}),
        (401, "POST", RESUME, resume(handed_off, key=None), {"error": "unauthorized"}),
        (404, "POST", RESUME, resume(unknown), {"error": "not_found"}),
        (413, "POST", RESUME, resume(handed_off, raw=TOO_LARGE), {"error": "too_large"}),
        (200, "GET", ANALYTICS, get(ANALYTICS + "?days=30"), {"days": 30}),
        (400, "GET", ANALYTICS, get(ANALYTICS + "?days=14"), {"error": "invalid_days"}),
        (401, "GET", ANALYTICS, get(ANALYTICS, key=None), {"error": "unauthorized"}),
        (200, "GET", LISTED, get(LISTED + "?search=1415777&per_page=5"), {"per_page": 5}),
        (400, "GET", LISTED, get(LISTED + "?per_page=500"), {"error": "invalid_query"}),
        (401, "GET", LISTED, get(LISTED, key=None), {"error": "unauthorized"}),
        (200, "GET", THREAD, get(f"{LISTED}/{handed_off}"), {"number": handed_off}),
        (400, "GET", THREAD, get(f"{LISTED}/not-a-number"), {"error": "invalid_number"}),
        (401, "GET", THREAD, get(f"{LISTED}/{handed_off}", key=None), {"error": "unauthorized"}),
        (404, "GET", THREAD, get(f"{LISTED}/{unknown}"), {"error": "not_found"}),
    ]
    # fmt: on
    got: set[tuple[str, str, int]] = set()
    errors: set[str] = set()

    def answered(
        status: int, method: str, path: str, response: requests.Response
    ) -> None:
        assert response.status_code == status, (method, path, response.text)
        sent_to = {"conversation_id": response.url.split("/")[5]} if "{" in path else {}
        case = SCHEMA[path][method].Case(path_parameters=sent_to)
        case.validate_response(response, checks=CONFORMANCE)
        got.add((method, path, status))
        if status >= 400:
            errors.add(response.json()["error"])

    for status, method, path, send, says in table:
        response = send()
        answered(status, method, path, response)
        assert says.items() <= response.json().items(), (method, path, response.text)
    assert stack.replies(handed_off, 2)[-1]["body"] == "Hi, Dana here."
    waiting = call(stack, "GET", WAITING).json()["waiting"]
    assert handed_off not in {w["conversation_id"] for w in waiting}

    # Last: the fuzz key's bucket, drained by requests that text nobody (quiet
    # hours), then the request that waited on its idempotency key.
    for _ in range(60):
        limited = call(stack, "POST", OUTBOUND, {"to": texted, **hi})
        if limited.status_code != 422:
            break
    answered(429, "POST", OUTBOUND, limited)
    assert int(limited.headers["Retry-After"]) >= 1
    stuck = in_progress()
    answered(409, "POST", OUTBOUND, stuck)
    assert stuck.json()["error"] == "in_progress" and stuck.headers["Retry-After"]

    assert got | set(UNREACHABLE) == documented()
    assert not got & set(UNREACHABLE)
    assert {"opted_out", "handed_off", "idempotency_conflict", "in_progress"} <= errors


def start_a_request_that_finds_its_key_in_progress(
    stack: SmsStack,
) -> Callable[[], requests.Response]:
    """409 in_progress: a request whose idempotency key another request still
    holds after the API's wait (2 s on this stack: SMS_API_IDEMPOTENCY_WAIT_SECONDS).
    The holder is a "pending" mark put in Redis as the API would (a request that
    is still running); it is asked in the background while the rest goes on."""
    body = {"to": phone(6), "message": "hi", "idempotency_key": "openapi-stuck"}
    record = redis_keys.api_idempotency(KEY_NAME, digest(body["idempotency_key"]))
    mark = fingerprint(read_request(body, 1600).as_json())
    db = stack.redis()
    db.set(
        record,
        json.dumps(
            {
                "state": "pending",
                "token": "test",
                "at": time.time(),
                "fingerprint": mark,
            }
        ),
        ex=120,
    )
    answer: list[requests.Response] = []
    thread = threading.Thread(
        target=lambda: answer.append(call(stack, "POST", "/sms/outbound", body)),
        daemon=True,
    )
    thread.start()

    def result() -> requests.Response:
        thread.join(timeout=90)
        db.delete(record)
        assert answer, "no answer within 90 s"
        return answer[0]

    return result


# --- found while writing the document (fuzzing): bodies that once got a 500 ---

#: (what, path, body, the answer it must get). They were a 500 (HTML), a 500,
#: and a 202 "sent" for a text that could not be sent (the sender cannot encode it).
KNOWN_BUGS: list[tuple[str, str, bytes, int]] = [
    (
        "deeply nested JSON: json.loads raises RecursionError",
        "/sms/outbound",
        b"[" * 20000 + b"]" * 20000,
        400,
    ),
    (
        "lone surrogate in idempotency_key: it cannot be hashed",
        "/sms/outbound",
        b'{"to": "+14157770007", "message": "hi", "idempotency_key": "\\ud800",'
        b' "urgent": true}',
        400,
    ),
    (
        "lone surrogate in message: answered sent, never sent",
        "/sms/outbound",
        b'{"to": "+14157770008", "message": "a\\ud800b", "urgent": true}',
        400,
    ),
]


def test_a_percent_encoded_plus_in_a_conversation_id_is_decoded(
    stack: SmsStack,
) -> None:
    """`encodeURIComponent("+14157779999")` and most HTTP libraries send
    `%2B14157779999`: the route decodes it (it once took the raw segment, and
    answered 400 "not a number")."""
    response = call(stack, "POST", "/sms/handoff/%2B14157779999/resume")
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("path", "raw", "status"),
    [bug[1:] for bug in KNOWN_BUGS],
    ids=[bug[0] for bug in KNOWN_BUGS],
)
def test_bodies_the_server_cannot_read_are_400s(
    stack: SmsStack, path: str, raw: bytes, status: int
) -> None:
    response = call_past_the_rate_limit(stack, path, raw=raw)
    assert response.status_code == status, response.text
