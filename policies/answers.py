"""Is a text the answer to the question the assistant asked, or plainly something else?

Pure and shared: the Rasa server's AnswerPolicy decides with it whether a reply to
"What name should I put the appointment under?" goes to the form, and the action
server's form validation takes the name with it. A name is whatever the customer
calls themselves ("Jo Park", "June Price", "Eve", "Ms. Cancel"), so only what a
name cannot be is listed: a question, digits, a command or yes/no, a request for a
person, "never mind", a booking, moving or cancelling request, or a change to an
earlier answer ("actually a checkup instead").
"""

from __future__ import annotations

import re

#: Whole texts that are an answer to something else, never a name.
_WORDS = frozenset(
    {
        "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "start", "unstop",
        "help", "info", "yes", "y", "yeah", "yep", "no", "n", "nope", "ok", "okay",
        "sure", "hi", "hello", "hey", "thanks", "thank you", "thx", "what", "why",
        "never mind", "nevermind", "nvm", "menu", "book", "reschedule",
    }
)  # fmt: skip
_QUESTION = re.compile(
    r"^\s*(?:what|whats|what's|when|where|wheres|how|hows|why|who|which)\b"
    r"|^\s*(?:can|could|will|would|do|does|did|is|are|should|shall|may)\s+"
    r"(?:i|you|u|we|it|there|they|ya|my|your)\b",
    re.IGNORECASE,
)
_PERSON = re.compile(
    r"\b(?:human|real person|a person|someone|somebody|an agent|staff|receptionist|"
    r"operator|call me|talk to|speak to|speak with)\b",
    re.IGNORECASE,
)
_NEVER_MIND = re.compile(
    r"\b(?:never\s*mind|nvm|forget (?:it|that)|start over|don'?t want)\b", re.IGNORECASE
)
_REQUEST = re.compile(
    r"\b(?:book|booking|appointment|appt|reschedule|"
    r"cancel\s+(?:it|my|the|that|this|appointment|appt|booking)|"
    r"(?:move|change|push)\s+(?:it|my|the|that))\b",
    re.IGNORECASE,
)
#: A change to an earlier answer: "actually a checkup instead", "make it friday".
_CHANGE = re.compile(
    r"^\s*(?:actually|wait|oops|make\s+it|change\s+(?:it|that))\b|\binstead\b",
    re.IGNORECASE,
)
MAX_NAME_WORDS = 5


def not_a_name(text: str) -> str | None:
    """Why this reply to "what name?" is not a name, or None if it is one."""
    stripped = text.strip()
    bare = re.sub(r"[\s.!,]+", " ", stripped).strip().lower()
    if not bare:
        return "empty"
    if "?" in stripped:
        return "a question"
    if any(ch.isdigit() for ch in stripped):
        return "digits: a time or an option"
    if bare in _WORDS:
        return "a command or an answer to another question"
    if _QUESTION.search(stripped):
        return "a question"
    if _PERSON.search(stripped):
        return "asks for a person"
    if _NEVER_MIND.search(stripped):
        return "never mind"
    if _REQUEST.search(stripped):
        return "a booking, moving or cancelling request"
    if _CHANGE.search(stripped):
        return "a change to an earlier answer"
    if len(bare.split()) > MAX_NAME_WORDS:
        return "too long for a name"
    return None
