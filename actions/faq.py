"""FAQ answers built from the business file.

The ResponseSelector picks the topic (`faq/hours`…); the wording lives here and the
facts in actions/business.yml, so a business edits facts in one place only.
"""

from __future__ import annotations

from collections.abc import Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.business import WEEKDAYS, Business, business
from actions.formatting import format_money, format_time
from actions.replies import say
from replytext.options import join_words


def opening_hours(biz: Business) -> str:
    """ "Mon-Thu 8:00am-6:00pm, Fri 8:00am-4:00pm, Sat 9:00am-1:00pm; closed Sun" """
    runs: list[tuple[int, int, str]] = []
    for day in range(7):
        hours = biz.hours.get(day)
        label = (
            f"{format_time(hours.opens)}-{format_time(hours.closes)}" if hours else ""
        )
        if runs and runs[-1][2] == label and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, label)
        else:
            runs.append((day, day, label))

    def days(first: int, last: int) -> str:
        name = lambda d: WEEKDAYS[d].capitalize()  # noqa: E731
        return name(first) if first == last else f"{name(first)}-{name(last)}"

    open_runs = [f"{days(a, b)} {label}" for a, b, label in runs if label]
    closed = [days(a, b) for a, b, label in runs if not label]
    text = ", ".join(open_runs)
    return f"{text}; closed {join_words(closed)}" if closed else text


def _hours(b: Business) -> str:
    return f"We're open {opening_hours(b)}."


def _location(b: Business) -> str:
    return f"We're at {b.address}. {b.directions}".strip()


def _parking(b: Business) -> str:
    return b.parking or f"Please call us at {b.phone} about parking."


def _services(b: Business) -> str:
    names = join_words([s.name for s in b.services])
    return f"We offer {names}. Text 'book' and the service to make an appointment."


def _prices(b: Business) -> str:
    prices = ", ".join(f"{s.name} {format_money(s.price)}" for s in b.services)
    return f"Prices: {prices}."


def _insurance(b: Business) -> str:
    if not b.insurance:
        return f"We don't bill insurance directly. Call {b.phone} with questions."
    return f"Yes, we accept {join_words(list(b.insurance))}."


def _cancellation(b: Business) -> str:
    fee = (
        (
            f" Cancellations with less than {b.cancellation_notice_hours}h notice may be "
            f"charged {format_money(b.cancellation_fee)}."
        )
        if b.cancellation_fee
        else ""
    )
    return f"You can cancel or move an appointment by text anytime.{fee}"


def _contact(b: Business) -> str:
    return (
        f"Call us at {b.phone} during opening hours, or text 'talk to a person' "
        "here and a team member will text you back."
    )


ANSWERS: dict[str, Callable[[Business], str]] = {
    "hours": _hours,
    "location": _location,
    "parking": _parking,
    "services": _services,
    "prices": _prices,
    "insurance": _insurance,
    "cancellation_policy": _cancellation,
    "contact": _contact,
}


def faq_answer(topic: str, biz: Business) -> str | None:
    """The answer to an FAQ topic, built from the business file; None if unknown."""
    answer = ANSWERS.get(topic)
    return answer(biz) if answer else None


def faq_topic(latest_message: dict) -> str | None:
    """ "faq/hours" -> "hours", from the ResponseSelector's output."""
    selector = (latest_message.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") or ""
    return key.split("/", 1)[1] if "/" in key else None


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        topic = faq_topic(tracker.latest_message)
        answer = faq_answer(topic, business()) if topic else None
        say(
            dispatcher,
            answer or "Sorry, I don't know that one. " + _contact(business()),
        )
        return []
