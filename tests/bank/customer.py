"""A persona texting the assistant: answers whatever it is asked, from what it wants.

The customer reads each reply the way a person would (which question is this?) and
answers from the persona. Whatever the assistant does that a customer would call
wrong is the conversation's problem: a question asked again after a good answer,
an FAQ question left unanswered, a reply that is none of the booking's questions,
other times offered for a time that was free.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tests.bank.personas import Persona

MAX_TEXTS = 14
#: What each of the assistant's booking questions says, most specific first.
QUESTIONS = (
    ("booked", "Booked:"),
    ("moved", "Moved:"),
    ("move_or_another", "Reply 1 to move it, 2 to book another"),
    ("instead", "When would you like to come instead?"),
    ("confirm", "Reply Y to book"),
    ("name", "What name should I put the appointment under?"),
    ("service", "Which service would you like?"),
    ("when", "What day and time suit you?"),
    ("when", "didn't catch a day and time"),
    ("options", "Reply 1 for"),
)


@dataclass
class Conversation:
    persona: Persona
    transcript: list[tuple[str, str]] = field(default_factory=list)
    problem: str | None = None
    booked: bool = False
    moved: bool = False

    def said(self) -> str:
        return "\n".join(f"{who}: {text}" for who, text in self.transcript)


def question(reply: str) -> str | None:
    for step, words in QUESTIONS:
        if words in reply:
            return step
    return None


async def converse(
    persona: Persona, send: Callable[[str], Awaitable[list[str]]]
) -> Conversation:
    """Text until booked, stuck, or MAX_TEXTS; the store is checked by the caller."""
    talk = Conversation(persona)
    asked: dict[str, int] = {}
    digressed = corrected = picked = refused = False
    text = persona.opening
    for _ in range(MAX_TEXTS):
        talk.transcript.append(("customer", text))
        reply = " ".join(await send(text))
        talk.transcript.append(("assistant", reply))
        if text == (persona.digression or ("", ""))[0]:
            marks = persona.digression[1] if persona.digression else ""
            if any(m.lower() not in reply.lower() for m in marks.split("|")):
                talk.problem = f"FAQ {text!r} not answered"
                return talk
        step = question(reply)
        if step in ("booked", "moved"):
            talk.booked, talk.moved = step == "booked", step == "moved"
            return talk
        if step is None:
            talk.problem = f"a reply that asks nothing: {reply!r}"
            return talk
        if persona.refused and not refused:
            # The time asked for cannot be booked: why, and other times, at once.
            refused = True
            if step != "options" or persona.refused not in reply:
                talk.problem = (
                    f"refused without {persona.refused!r} and times: {reply!r}"
                )
                return talk
            assert persona.retry_text is not None
            text = persona.retry_text
            continue
        if step == "options":
            if persona.window and not picked:
                picked = True
                text = "1"
                continue
            talk.problem = f"other times offered for a free one: {reply!r}"
            return talk
        if step == persona.digression_step and not digressed:
            digressed = True
            assert persona.digression is not None
            text = persona.digression[0]
            continue
        asked[step] = asked.get(step, 0) + 1
        # Asked again after a digression, and a question after a change of mind
        # given in its place (or the confirmation, after any change).
        again_allowed = (
            1
            + (step == persona.digression_step)
            + (corrected and step in (persona.correction_step, "confirm"))
        )
        if asked[step] > again_allowed:
            talk.problem = f"asked for the {step} again: {reply!r}"
            return talk
        if step == persona.correction_step and not corrected:
            corrected = True
            assert persona.correction_text is not None
            text = persona.correction_text
        elif step == "move_or_another":
            text = persona.choice or ""
        elif step == "service":
            text = persona.service_text
        elif step in ("when", "instead"):
            text = persona.when_text
        elif step == "name":
            text = persona.name_text
        else:
            text = "Y"
    talk.problem = f"not booked after {MAX_TEXTS} texts"
    return talk
