"""A whole turn is collected before anything is sent (connectors/output.py), and a
failed turn Rasa swallows is noticed (connectors/turn_errors.py): both driven the
way Rasa's processor drives them, in process."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors import compat, turn_errors
from connectors.output import SendingOutput, SmsOutput

CUSTOMER = "+14155552671"
TIMES = [
    {"title": "9:00am", "payload": "2026-03-03T09:00"},
    {"title": "10:00am", "payload": "2026-03-03T10:00"},
]


async def test_a_turn_is_its_messages_in_order_shaped_for_sms() -> None:
    output = SmsOutput()
    await output.send_text_message(CUSTOMER, "**Booked**: Tue Mar 3 \u2013 10am.")
    await output.send_text_with_buttons(CUSTOMER, "Anything else?", TIMES)
    assert output.texts == [
        "Booked: Tue Mar 3 - 10am.",
        "Anything else? Reply 1 for 9:00am or 2 for 10:00am.",
    ]
    assert output.buttons == TIMES  # the options a "2" may pick next


async def test_what_the_business_starts_is_sent_message_by_message() -> None:
    """No turn ends to flush Rasa's execute route: each message goes as it comes,
    shaped like a reply, and nothing is left collected."""
    sent: list[tuple[str, list[str]]] = []

    async def send(customer: str, texts: list[str]) -> list[str]:
        sent.append((customer, texts))
        return ["SM1"]

    output = SendingOutput(send)
    await output.send_response(CUSTOMER, {"text": "**Reminder**: Tue 10am."})
    await output.send_response(CUSTOMER, {"text": "Which time?", "buttons": TIMES})
    assert sent == [
        (CUSTOMER, ["Reminder: Tue 10am."]),
        (CUSTOMER, ["Which time? Reply 1 for 9:00am or 2 for 10:00am."]),
    ]
    assert output.texts == [] and output.results == ["SM1", "SM1"]


async def test_only_the_last_messages_buttons_are_what_a_number_picks() -> None:
    output = SmsOutput()
    await output.send_text_with_buttons(CUSTOMER, "Which time?", TIMES)
    await output.send_text_message(CUSTOMER, "Or tell me another day.")
    assert output.buttons == []
    await output.send_quick_replies(CUSTOMER, "Pick one", [{"title": "Yes"}, {}])
    assert output.buttons == [{"title": "Yes"}]  # one without a title is not one


async def test_images_and_attachments_go_as_links_in_the_text() -> None:
    output = SmsOutput()
    await output.send_image_url(CUSTOMER, "https://example.com/map.png")
    await output.send_attachment(CUSTOMER, "https://example.com/form.pdf")
    assert output.texts == [
        "https://example.com/map.png",
        "https://example.com/form.pdf",
    ]


async def test_custom_json_goes_only_as_its_text_and_is_never_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = SmsOutput()
    caplog.set_level(logging.INFO, logger="connectors.output")
    await output.send_custom_json(CUSTOMER, {"text": "See you Tuesday."})
    await output.send_custom_json(CUSTOMER, {"card": "private: Ana, 555-0101"})
    assert output.texts == ["See you Tuesday."]
    assert "custom json with no text" in caplog.text
    assert "private" not in caplog.text and "555" not in caplog.text


async def test_errors_rasa_logs_in_a_turn_are_that_turns_only() -> None:
    """Two turns at once (two conversations): an action failing in one marks that
    turn failed, not the other; errors outside any turn, or warnings, mark none."""
    turn_errors.install()
    rasa = logging.getLogger(compat.PROCESSOR_LOGGER)
    rasa.error("outside any turn")

    async def turn(fails: bool) -> list[logging.LogRecord]:
        with turn_errors.watching() as errors:
            await asyncio.sleep(0.01)
            rasa.warning("a warning is not a failure")
            if fails:
                rasa.error("action 'action_book' failed")
            await asyncio.sleep(0.01)
        return errors

    failed, fine = await asyncio.gather(turn(True), turn(False))
    assert [r.getMessage() for r in failed] == ["action 'action_book' failed"]
    assert fine == []


def test_installing_twice_reports_an_error_once() -> None:
    turn_errors.install()
    turn_errors.install()
    with turn_errors.watching() as errors:
        logging.getLogger(compat.PROCESSOR_LOGGER).error("once")
    assert len(errors) == 1
