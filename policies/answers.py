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

from replytext.options import Option, resolve_choice

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


_NAME_LEAD = re.compile(
    r"^\s*(?:(?:my\s+name\s+is|my\s+names|name\s+is|i\s*am|i'?m|it'?s|its|"
    r"this\s+is|put\s+it\s+under|under|the\s+name\s+is|name)\s*[:,]?\s+)",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"(?:[\s,]+(?:thanks|thank\s+you|thx|ty|please|pls))+[\s.!]*$", re.I
)
#: "..., name is Maria Gomez" / "this is June Price" at the end of a longer text.
_NAME_IN_TEXT = re.compile(
    r"(?:^|[,.;!]\s*|\s)(?:my\s+name\s+is|my\s+name'?s|name\s+is|name'?s|this\s+is|"
    r"it'?s|i'?m|i\s+am|under\s+the\s+name(?:\s+of)?)\s+"
    r"(?P<name>[A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){0,3})[\s.!]*$",
    re.IGNORECASE,
)
#: Words after "this is" / "I'm" that say how, not who: "this is urgent".
_NOT_NAME_WORDS = frozenset(
    {
        "urgent", "free", "available", "busy", "here", "back", "new", "fine", "late",
        "sick", "in", "at", "on", "the", "a", "an", "about", "not", "so", "very",
        "just", "looking", "wondering", "interested", "hoping", "trying", "going",
        "calling", "texting", "asking", "me", "my", "you", "your", "it", "that",
        "this", "today", "tomorrow", "tmrw", "morning", "afternoon", "evening",
        "possible", "ok", "okay", "good", "great", "sorry", "still", "also",
    }
)  # fmt: skip
#: A name stated outright ("sorry, the name is Jo Price"): a name whatever NLU
#: makes of it, at any step of the booking.
_NAME_STATED = re.compile(
    r"(?:^|[,.;!]\s*|\s)(?:my\s+name\s+is|my\s+name'?s|the\s+name\s+is|name\s+is|"
    r"name'?s|put\s+it\s+under|under\s+the\s+name(?:\s+of)?)\s+"
    r"(?P<name>[A-Za-z][A-Za-z.'-]*(?:\s+[A-Za-z][A-Za-z.'-]*){0,3})[\s.!]*$",
    re.IGNORECASE,
)


def clean_name(text: str) -> str | None:
    """ "its sam lee thanks" -> "Sam Lee"; None for what is plainly not a name
    (policies/answers.py: a question, digits, a command, another request)."""
    if not_a_name(text):
        return None
    name = _THANKS.sub("", _NAME_LEAD.sub("", text)).strip(" .,!:;\"'")
    name = re.sub(r"\s+", " ", name)
    if not name or len(name) > 60 or not re.search(r"[A-Za-z]", name):
        return None
    if not_a_name(name):
        return None
    return " ".join(w[:1].upper() + w[1:] for w in name.split())


def _trailing_name(text: str) -> tuple[str, int] | None:
    """The name a text ends with ("..., name is Maria Gomez") and where its lead-in
    starts; None if it ends with none ("this is urgent")."""
    match = _NAME_IN_TEXT.search(text)
    if not match or match.group("name").split()[0].lower() in _NOT_NAME_WORDS:
        return None
    name = clean_name(match.group("name"))
    return (name, match.start()) if name else None


def name_in_text(text: str) -> str | None:
    """A name given along with the rest ("book a checkup fri 2pm, name is Maria
    Gomez"), or None."""
    found = _trailing_name(text)
    return found[0] if found else None


def without_name(text: str) -> str:
    """The text without a trailing "name is ..." so "June" or "Eve" in a name is
    never read as a date or time."""
    found = _trailing_name(text)
    return text[: found[1]].rstrip(" ,.;") if found else text


def stated_name(text: str) -> str | None:
    """A name given with "the name is ..." (not a question), or None."""
    match = _NAME_STATED.search(text)
    if not match or "?" in text:
        return None
    return clean_name(match.group("name"))


#: The question put to a customer who starts a booking while one is upcoming.
MOVE_OR_ANOTHER = [
    Option(title="move it", payload="move"),
    Option(title="book another", payload="another"),
]
_MOVE_WORDS = re.compile(
    r"\b(?:move|moving|reschedul\w*|resched|change|push|shift|swap)\b", re.I
)
_ANOTHER_WORDS = re.compile(
    r"\b(?:another|new|second|extra|additional|both|also|keep)\b", re.I
)


def move_or_another(text: str) -> str | None:
    """ "1"/"move it" -> "move", "2"/"book another" -> "another"; None if unclear."""
    picked = resolve_choice(text, MOVE_OR_ANOTHER)
    if picked:
        return picked
    move, another = _MOVE_WORDS.search(text), _ANOTHER_WORDS.search(text)
    if bool(move) == bool(another):
        return None
    return "move" if move else "another"


def is_answer(slot: str, text: str) -> bool:
    """Whether a reply answers the free-text question for `slot`: "move it or book
    another?" takes only a choice; any other (a name) what is not plainly else."""
    if slot == "booking_or_move":
        return move_or_another(text) is not None
    return not_a_name(text) is None
