"""Analytics on the live stack: 50 conversations with a known mix of delivered and
undelivered replies, retried webhooks and opt-outs, counted exactly.

The real Rasa server behind the ingress, the action server, Redis and the Twilio
emulator (the `business_stack`, shared with test_openapi.py and
test_outbound_api.py): the figures are read before and after, and the test
checks the difference, so it does not depend on what ran before it.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import pytest
import requests

from tools.harness.sms_stack import BIN, BUSINESS, ROOT, SMS_API_KEY, SmsStack, http

#: This module's customers: a range no other module texts.
CUSTOMERS = [f"+1415888{n:04d}" for n in range(50)]
#: The emulator reports their texts undelivered (30003), as a carrier would.
UNDELIVERABLE = CUSTOMERS[:10]
#: Their webhook is delivered twice, as Twilio does when it saw no answer in time.
RETRIED = CUSTOMERS[40:45]
#: They text STOP afterwards.
STOPPING = CUSTOMERS[45:47]
#: Known contacts (imported before they text): greeted by name, counted as matched.
KNOWN = CUSTOMERS[30:35]
#: Asks for a person afterwards.
HANDED_OFF = CUSTOMERS[35]
PRICE = 0.0079  # the default per-segment price, both ways


def analytics(stack: SmsStack, days: int = 7) -> dict[str, Any]:
    status, body = stack.business_api("GET", f"/sms/analytics?days={days}")
    assert status == 200, body
    return body


def text(stack: SmsStack, customer: str, body: str, repeat: int = 1) -> None:
    status, result = http(
        "POST",
        f"{stack.emulator}/_emulator/inbound?repeat={repeat}",
        {"from": customer, "to": BUSINESS, "body": body},
    )
    assert status == 200, result


@pytest.fixture(scope="module")
def stack(business_stack: SmsStack) -> SmsStack:
    return business_stack


def test_fifty_conversations_are_counted_exactly(stack: SmsStack) -> None:
    contacts = stack.workdir / "analytics-contacts.csv"
    contacts.write_text(
        "phone,name\n" + "".join(f"{n},Known Person{i}\n" for i, n in enumerate(KNOWN))
    )
    imported = subprocess.run(
        [str(BIN / "python"), "-m", "tools.import_contacts", str(contacts)]
        + ["--redis-url", stack.redis_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stderr
    before = analytics(stack)
    stack.emulator_config(undeliverable=["+15005550006", *UNDELIVERABLE])
    try:
        for customer in CUSTOMERS:
            text(
                stack, customer, "what are your hours", 2 if customer in RETRIED else 1
            )
        sent = {customer: stack.replies(customer, 1) for customer in CUSTOMERS}
        sent = {customer: stack.settled(customer) for customer in CUSTOMERS}
        for customer in STOPPING:
            text(stack, customer, "STOP")
            stack.settled(customer)
        text(stack, HANDED_OFF, "can i talk to a person")
        sent[HANDED_OFF] = stack.replies(HANDED_OFF, len(sent[HANDED_OFF]) + 1)
        parts = [m for customer in CUSTOMERS for m in sent[customer]]
        undelivered = [m for c in UNDELIVERABLE for m in sent[c]]
        segments_out = sum(int(m["num_segments"]) for m in parts)
        # Every reply's final status arrives as a callback through the ingress.
        deadline = time.monotonic() + 60
        while True:
            after = analytics(stack)
            settled = sum(
                after["totals"][k] - before["totals"][k]
                for k in ("delivered", "undelivered", "failed")
            )
            if settled >= len(parts) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        stack.emulator_config(undeliverable=["+15005550006"])

    change = {k: after["totals"][k] - before["totals"][k] for k in after["totals"]}
    assert change == {
        # 50 texts (5 of them delivered twice), 2 STOPs, 1 asking for a person
        "inbound": 53,
        "segments_in": 53,
        "outbound": len(parts),
        "segments_out": segments_out,
        "delivered": len(parts) - len(undelivered),
        "undelivered": len(undelivered),
        "failed": 0,
        "sessions": 50,
        "contacts_matched": len(KNOWN),
        "opt_outs": 2,
        "handoffs": 1,
        "inactivity_warnings": 0,
        "unique_numbers": 50,
    }
    codes = after["failed_by_code"].get("30003", 0) - before["failed_by_code"].get(
        "30003", 0
    )
    assert codes == len(undelivered) >= 10
    total = after["totals"]
    assert after["delivery_rate"] == round(
        total["delivered"]
        / (total["delivered"] + total["undelivered"] + total["failed"]),
        4,
    )
    cost = after["estimated_cost"]["total"] - before["estimated_cost"]["total"]
    assert cost == pytest.approx((53 + segments_out) * PRICE, abs=1e-3)
    assert after["daily"][-1]["inbound"] - before["daily"][-1]["inbound"] == 53
    assert [len(analytics(stack, d)["daily"]) for d in (30, 90)] == [30, 90]

    status, listed = stack.business_api(
        "GET", "/sms/conversations?search=1415888&per_page=100"
    )
    assert status == 200, listed
    assert listed["total"] == 50
    states = {row["number"]: row["state"] for row in listed["conversations"]}
    assert {n for n, s in states.items() if s == "opted_out"} == set(STOPPING)
    assert states[HANDED_OFF] == "paused"
    assert {s for n, s in states.items() if n not in {*STOPPING, HANDED_OFF}} == {
        "active"
    }
    names = {row["number"]: row["contact_name"] for row in listed["conversations"]}
    assert names[KNOWN[0]] == "Known Person0" and names[CUSTOMERS[0]] is None
    status, thread = stack.business_api("GET", f"/sms/conversations/{HANDED_OFF}")
    assert [i["type"] for i in thread["items"]][-2:] == ["handoff", "message"]
    assert stack.business_api("POST", f"/sms/handoff/{HANDED_OFF}/resume")[0] == 200
    row = next(r for r in listed["conversations"] if r["number"] == RETRIED[0])
    assert (row["inbound"], row["outbound"]) == (1, len(sent[RETRIED[0]]))

    customer = UNDELIVERABLE[0]
    status, thread = stack.business_api("GET", f"/sms/conversations/{customer}")
    assert status == 200, thread
    kinds = [item["type"] for item in thread["items"]]
    assert kinds[0] == "session_started"
    [said] = [i for i in thread["items"] if i.get("direction") == "in"]
    assert said["text"] == "what are your hours"
    out = [i for i in thread["items"] if i.get("direction") == "out"]
    assert [i["text"] for i in out] == [m["body"] for m in sent[customer]]
    assert {(i["status"], i["error_code"]) for i in out} == {("undelivered", "30003")}
    delivered = stack.business_api("GET", f"/sms/conversations/{CUSTOMERS[20]}")[1]
    assert {i["status"] for i in delivered["items"] if i.get("direction") == "out"} == {
        "delivered"
    }


def scrape(stack: SmsStack, headers: dict[str, str]) -> tuple[int, str]:
    response = requests.get(f"{stack.public_url}/metrics", headers=headers, timeout=30)
    return response.status_code, response.text


def sample(text: str, name: str) -> float:
    """The sum of a metric's samples (each label set and process)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_sum_the_ingress_and_the_rasa_server(stack: SmsStack) -> None:
    """The webhook's figures come from the ingress process, the turns' from the
    Rasa server: one scrape (answered by the Rasa server) has both."""
    assert scrape(stack, {})[0] == 401
    assert scrape(stack, {"X-API-Key": "not-the-key-0123456789"})[0] == 401
    status, text = scrape(stack, {"X-API-Key": SMS_API_KEY})
    assert status == 200, text
    assert scrape(stack, {"Authorization": f"Bearer {SMS_API_KEY}"})[0] == 200
    # test_fifty_conversations_are_counted_exactly's traffic, at least.
    assert sample(text, "sms_webhook_seconds_count") >= 58
    assert sample(text, "sms_turn_seconds_count") >= 50
    assert sample(text, 'sms_sends_total{status="queued"}') >= 50
    assert sample(text, "sms_opt_outs_total") >= 2
    assert "sms_inbox_conversations " in text
    assert "sms_signature_rejections_total" in text
    assert "sms_send_retries_total" in text
