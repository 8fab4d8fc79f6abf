"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against
the live stack: sign in with the key, switch periods, search a number, open a
conversation and read it as a phone shows it. Its screenshot is saved to
results/dashboard.png (the README's picture comes from it).

Shares the `business_stack` with the other business modules; its customers
(+1415999xxxx) are its own.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import playwright.sync_api as playwright_sync
import pytest

from tools.harness.sms_stack import ROOT, SMS_API_KEY, SmsStack

CUSTOMERS = [f"+1415999{n:04d}" for n in range(3)]
UNDELIVERABLE = CUSTOMERS[2]
SCREENSHOT = ROOT / "results" / "dashboard.png"
#: Chromium on a closed network: no background connections, no first-run work.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    subprocess.run([str(ROOT / "scripts" / "chromium.sh"), "install"], check=True)
    return subprocess.run(
        [str(ROOT / "scripts" / "chromium.sh"), "path"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture(scope="module")
def stack(business_stack: SmsStack) -> Iterator[SmsStack]:
    """Three conversations of its own: two delivered, one undelivered (30003)."""
    business_stack.emulator_config(undeliverable=["+15005550006", UNDELIVERABLE])
    try:
        for customer in CUSTOMERS:
            business_stack.text(customer, "what are your opening hours")
        for customer in CUSTOMERS:
            business_stack.settled(customer)
        yield business_stack
    finally:
        business_stack.emulator_config(undeliverable=["+15005550006"])


def test_an_operator_signs_in_and_reads_a_conversation(stack: SmsStack) -> None:
    requested: list[str] = []
    with playwright_sync.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda request: requested.append(request.url))
            expect = playwright_sync.expect
            page.goto(f"{stack.public_url}/sms/dashboard")

            # A wrong key is refused and the form stays.
            page.get_by_test_id("key").fill("not-the-key-0123456789")
            page.get_by_test_id("sign-in").click()
            expect(page.get_by_test_id("login-error")).to_have_text(
                "That key was not accepted."
            )
            page.get_by_test_id("key").fill(SMS_API_KEY)
            page.get_by_test_id("sign-in").click()

            cards = page.get_by_test_id("cards")
            expect(cards).to_be_visible()
            expect(page.get_by_test_id("login")).to_be_hidden()
            inbound = int(
                page.get_by_test_id("card-inbound").locator(".value").inner_text()
            )
            assert inbound >= len(CUSTOMERS)
            chart = page.get_by_test_id("chart")
            expect(chart).to_have_attribute("data-days", "7")
            page.get_by_test_id("days-30").click()
            expect(chart).to_have_attribute("data-days", "30")
            expect(page.get_by_test_id("days-30")).to_have_attribute(
                "aria-pressed", "true"
            )
            assert chart.locator("rect.inbound").count() == 30
            page.get_by_test_id("days-7").click()
            expect(chart).to_have_attribute("data-days", "7")

            page.get_by_test_id("search").fill("1415999")
            page.get_by_test_id("search").press("Enter")
            rows = page.get_by_test_id("conversations").locator("tr")
            expect(rows).to_have_count(len(CUSTOMERS))
            for customer in CUSTOMERS:
                expect(rows.filter(has_text=customer)).to_have_count(1)

            # A delivered conversation: the customer's text, the reply with ✓✓.
            rows.filter(has_text=CUSTOMERS[0]).click()
            thread = page.get_by_test_id("thread")
            expect(thread.locator('[data-direction="in"]')).to_contain_text(
                "what are your opening hours"
            )
            replies = [m["body"] for m in stack.sent_to(CUSTOMERS[0])]
            out = thread.locator('[data-direction="out"]')
            expect(out).to_have_count(len(replies))
            expect(out.first).to_contain_text(replies[0][:40])
            expect(out.first.locator(".tick")).to_have_text("✓✓")
            expect(thread.locator('[data-type="session_started"]')).to_have_count(1)

            # The undelivered one shows the carrier's code.
            rows.filter(has_text=UNDELIVERABLE).click()
            expect(page.get_by_test_id("thread-panel")).to_contain_text(UNDELIVERABLE)
            expect(thread.locator('[data-direction="out"] .tick').first).to_have_text(
                "✗ 30003"
            )
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # Signing out forgets the key: a reload shows the form again.
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_test_id("login")).to_be_visible()
            page.reload()
            expect(page.get_by_test_id("login")).to_be_visible()
            expect(cards).to_be_hidden()
        finally:
            browser.close()

    assert requested and all(u.startswith(stack.public_url + "/") for u in requested)
    assert not [u for u in requested if SMS_API_KEY in u], "the key went into a URL"
    assert SCREENSHOT.stat().st_size > 10_000
