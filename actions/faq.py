"""FAQ answers built from the business file.

The ResponseSelector picks the topic (`faq/hours`…); the wording lives here and the
facts in actions/business.yml, so a business edits facts in one place only. A text
with several questions gets every answer: cue words find the topics the selector's
single pick leaves out (`faq_topics`).
"""

from __future__ import annotations

import re
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
    """The answer to an FAQ topic, built from the business file; None if unknown.
    A topic in the file's `faq:` section (new, or a built-in reworded) wins;
    {name}, {phone} and {address} in its answer are the business's."""
    added = biz.faq.get(topic)
    if added is not None:
        facts = {"{name}": biz.name, "{phone}": biz.phone, "{address}": biz.address}
        return re.sub(
            r"\{(?:name|phone|address)\}", lambda m: facts[m[0]], added.answer
        )
    answer = ANSWERS.get(topic)
    return answer(biz) if answer else None


def known_topics(biz: Business) -> set[str]:
    """Every topic with an answer: built in, or added in the business file."""
    return set(ANSWERS) | set(biz.faq)


#: Words that name a topic in one question. Checked in this order, specific before
#: generic, so "how much is parking" is parking and "how much notice to cancel" is
#: the cancellation policy, not prices.
CUES: dict[str, re.Pattern[str]] = {
    topic: re.compile(pattern, re.IGNORECASE)
    for topic, pattern in {
        "cancellation_policy": r"\bcancel|\bno[- ]?shows?\b|\breschedul|\bnotice\b"
        r"|\bmiss(?:ed|ing)? (?:\w+ )?app|\bdon'?t show\b"
        r"|\b(?:mov|chang)(?:e|ing) (?:my |an |the )?app",
        "parking": r"\bpark(?:s|ed|ing)?\b|\bgarage\b|\bleave my car\b|\bvalidat",
        "insurance": r"(?<!without )\binsur|\b(?:in|out of)[- ]network\b"
        r"|\bcover(?:ed|age)?\b|\bdental plans?\b|\bdelta\b|\baetna\b|\bcigna\b"
        r"|\bmetlife\b|\bguardian\b|\bhumana\b|\bblue cross\b|\bbcbs\b|\bunited\b"
        r"|\bmedica(?:id|re)\b|\bppo\b|\bhmo\b",
        "contact": r"\bphone\b|\bcall\b|\be-?mail\b|\bnumber\b|\bcontact\b"
        r"|\breach\b|\bin touch\b|\bwebsite\b|\bfax\b",
        "location": r"\bwhere\W*(?:are|r|is|s)\b|\bwheres\b|\baddress\b|\blocat"
        r"|\bdirections?\b|\bget there\b|\bnear\b|\bclose to\b|\bhow (?:close|far)\b"
        r"|\bwhat (?:street|town|city|floor)\b|\bwhere (?:exactly|do i go)\b|\bzip\b"
        r"|\b(?:find|get to) (?:you|u|the|your)\b",
        "hours": r"\bopen(?:ing)?\b|\bclos(?:e|es|ed|ing)\b|\bhours\b"
        r"|\bwh?at time\b|\bhow (?:late|early)\b|\btill when\b|\bwhat days\b",
        "prices": r"\bprices?\b|\bpricing\b|\bcosts?\b|\bhow much\b|\bcharge\b"
        r"|\brates?\b|\bexpensive\b|\bfees? (?:for|of)\b",
        "services": r"\bservices?\b|\bdo (?:you|u|y'all) (?:do|offer|see|treat)\b"
        r"|\boffer\b|\btreatments?\b|\bprocedures?\b",
    }.items()
}

#: Where one question ends and the next begins. Words only whole ("and", not the
#: "and" in "handicap"); a comma alone is not a split, it usually lists one topic.
_QUESTION_BREAK = re.compile(r"[?!.;&\r\n]|,?\s*\b(?:and|also|plus)\b", re.IGNORECASE)


def cues_for(biz: Business) -> dict[str, re.Pattern[str]]:
    """The business file's topic words (checked first: they are its own), then
    the built-in cues."""
    added = {
        topic: re.compile(
            r"\b(?:" + "|".join(re.escape(w) for w in entry.words) + r")\b",
            re.IGNORECASE,
        )
        for topic, entry in biz.faq.items()
        if entry.words
    }
    return {**added, **{t: c for t, c in CUES.items() if t not in added}}


def _cued_topic(
    part: str, selector_topic: str | None, cues: dict[str, re.Pattern[str]]
) -> str | None:
    """The topic one question names; the selector's when the question names it too."""
    cued = [topic for topic, cue in cues.items() if cue.search(part)]
    return selector_topic if selector_topic in cued else next(iter(cued), None)


def faq_topics(
    text: str,
    selector_topic: str | None,
    cues: dict[str, re.Pattern[str]] | None = None,
) -> list[str]:
    """Every FAQ topic a text asks about, in the order asked, each once.

    The ResponseSelector names one topic per message, so "where do i park and what
    time do u close" would get only one answer. Cue words find the others; the
    selector's topic is always answered, in the place of the question that names no
    topic itself (or first). One question keeps the selector's single topic, so a
    cue of another topic inside it ("how much is parking") adds no answer.
    """
    cues = CUES if cues is None else cues
    parts = [p for p in _QUESTION_BREAK.split(text) if re.search(r"\w", p)]
    if len(parts) < 2:
        single = selector_topic or _cued_topic(text, None, cues)
        return [single] if single else []
    topics = [_cued_topic(part, selector_topic, cues) for part in parts]
    if selector_topic and selector_topic not in topics:
        if None in topics:
            topics[topics.index(None)] = selector_topic
        else:
            topics.insert(0, selector_topic)
    return list(dict.fromkeys(t for t in topics if t))


def faq_topic(latest_message: dict) -> str | None:
    """ "faq/hours" -> "hours", from the ResponseSelector's output."""
    selector = (latest_message.get("response_selector") or {}).get("faq") or {}
    key = (selector.get("response") or {}).get("intent_response_key") or ""
    return key.split("/", 1)[1] if "/" in key else None


def _sentence(text: str) -> str:
    """Answers end with a stop, so joined answers stay separate sentences."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """All asked topics answered in one text, so the answers arrive in order."""
        biz = business()
        message = tracker.latest_message
        topics = faq_topics(
            message.get("text") or "", faq_topic(message), cues_for(biz)
        )
        unknown = "Sorry, I don't know that one. " + _contact(biz)
        answers = [_sentence(faq_answer(t, biz) or unknown) for t in topics]
        say(dispatcher, " ".join(dict.fromkeys(answers)) or unknown)
        return []
