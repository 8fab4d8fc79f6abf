"""The conversation bank's customers: who they are and what they ask for.

Each persona is a customer who wants one service at one day and time under one
name, texts it the way people do (all in one text, or answer by answer), and may
correct the time or ask an FAQ question on the way. What the customer meant is
written here by hand, from a fixed "now" (Tue 1 Dec 2026, 08:30 in New York), so
the bank never checks the assistant's date reading against itself.

Generated, not sampled at random each run: the same 320 personas every time, every
name, day phrase and time phrase used at least once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 1, 8, 30, tzinfo=ZONE)  # a Tuesday
COUNT = 320

#: Day phrases and the date each means on Tue 1 Dec 2026.
DAYS: tuple[tuple[str, date], ...] = (
    ("tomorrow", date(2026, 12, 2)),
    ("tmrw", date(2026, 12, 2)),
    ("tmr", date(2026, 12, 2)),
    ("wed", date(2026, 12, 2)),
    ("wednesday", date(2026, 12, 2)),
    ("thursday", date(2026, 12, 3)),
    ("thurs", date(2026, 12, 3)),
    ("thu", date(2026, 12, 3)),
    ("this fri", date(2026, 12, 4)),
    ("friday", date(2026, 12, 4)),
    ("this friday", date(2026, 12, 4)),
    ("sat", date(2026, 12, 5)),
    ("saturday", date(2026, 12, 5)),
    ("next monday", date(2026, 12, 7)),
    ("next mon", date(2026, 12, 7)),
    ("monday", date(2026, 12, 7)),
    ("next tue", date(2026, 12, 8)),
    ("next wk tue", date(2026, 12, 8)),
    ("tuesday next week", date(2026, 12, 8)),
    ("next tuesday", date(2026, 12, 8)),
    ("12/9", date(2026, 12, 9)),
    ("12/10", date(2026, 12, 10)),
    ("dec 11", date(2026, 12, 11)),
    ("december 14", date(2026, 12, 14)),
    ("the 15th", date(2026, 12, 15)),
    ("on the 16th", date(2026, 12, 16)),
    ("12/17/2026", date(2026, 12, 17)),
    ("Dec 18th", date(2026, 12, 18)),
)

#: Time phrases: (phrase, start, a window whose first free start is meant).
TIMES: tuple[tuple[str, time, bool], ...] = (
    ("9am", time(9), False),
    ("9:30am", time(9, 30), False),
    ("10am", time(10), False),
    ("10:30", time(10, 30), False),
    ("at 10", time(10), False),
    ("11am", time(11), False),
    ("noon", time(12), False),
    ("12pm", time(12), False),
    ("1pm", time(13), False),
    ("2pm", time(14), False),
    ("at 2", time(14), False),
    ("2:15pm", time(14, 15), False),
    ("3pm", time(15), False),
    ("after 3", time(15), True),
    ("3:45pm", time(15, 45), False),
    ("4pm", time(16), False),
    ("5pm", time(17), False),
    ("8:30am", time(8, 30), False),
)

#: Opening hours of actions/business.yml, weekday -> (opens, closes).
HOURS = {
    0: (time(8), time(18)),
    1: (time(8), time(18)),
    2: (time(8), time(18)),
    3: (time(8), time(18)),
    4: (time(8), time(16)),
    5: (time(9), time(13)),
}

#: How customers name each service, and its key and minutes.
SERVICES: tuple[tuple[str, str, int], ...] = (
    ("cleaning", "cleaning", 45),
    ("teeth cleaning", "cleaning", 45),
    ("checkup", "checkup", 30),
    ("check-up", "checkup", 30),
    ("whitening", "whitening", 60),
    ("filling", "filling", 60),
    ("emergency visit", "emergency", 30),
)

#: Plain names, then names that share a word with the assistant's vocabulary.
NAMES: tuple[str, ...] = (
    "Sam Lee", "Maria Gomez", "Priya Shah", "Tom O'Neil", "Ana Ruiz", "Li Wei",
    "Kofi Mensah", "Olga Petrov", "Ben Carter", "Aisha Khan", "Diego Alvarez",
    "Hannah Cohen", "Yuki Tanaka", "Fatima Noor", "Grace Kim", "Lucas Silva",
    "Emma Brown", "Noah Davis", "Zoe Martin", "Raj Patel", "Chloe Dubois",
    "Ivan Novak", "Sara Lind", "Omar Haddad", "Mia Rossi", "Jack Wilson",
    "Nina Berg", "Leo Costa", "Ella Fox", "Max Weber",
    "Jo Park", "June Price", "Eve Sato", "May Chen", "April Jones", "Will Smith",
    "Hope Adams", "Sunday Okafor", "Tuesday Weld", "Mo Farah", "Cliff Barnes",
    "Ann Parker", "Doc Holliday", "Arthur Dent", "Rose Fillingham", "Ms. Cancel",
    "Bill Price", "Summer Park", "Dawn Evans", "Eve", "Will", "Art Price",
    "Pat Noon", "Amy Monday", "Jan Friday", "Chase Booker", "Ray Sun",
    "Mark Tuesday", "Bob Check", "Carl Morning", "Faith Clean", "Hunter Fill",
)  # fmt: skip

#: How a name is given when asked for it.
NAME_STYLES = ("{name}", "{name}", "it's {name}", "{name} thanks", "under {name}")

#: FAQ questions asked mid-booking, and a word the answer must contain.
DIGRESSIONS: tuple[tuple[str, str], ...] = (
    ("is there parking?", "parking"),
    ("do you take cigna?", "Cigna"),
    ("how much is a filling?", "$180"),
    ("where are you located?", "Main St"),
)

#: What the first text gives: service (s), when (w), name (n).
OPENINGS: tuple[tuple[str, str], ...] = (
    ("book a {service} {when}", "sw"),
    ("hi can i book a {service} {when}, name is {name}", "swn"),
    ("I'd like to make an appointment", ""),
    ("book me a {service} please", "s"),
    ("can I get a {service}", "s"),
    ("need an appointment {when} for a {service}", "sw"),
    ("book me a {service} {when} please, this is {name}", "swn"),
    ("hi i need to book", ""),
)

STEPS = ("service", "when", "name", "confirm")


@dataclass(frozen=True)
class Persona:
    key: str
    opening: str
    gives: str  # letters of OPENINGS: what the opening text already holds
    service_text: str
    service: str  # key in business.yml
    when_text: str
    start: datetime  # what was asked for first
    window: bool  # the time is a window: the first option offered is meant
    name_text: str
    name: str
    # A different time given at the confirmation ("actually make it ..."), or None.
    correction_text: str | None
    corrected_start: datetime | None
    # An FAQ question asked instead of answering this step, and its answer's mark.
    digression_step: str | None
    digression: tuple[str, str] | None

    @property
    def wanted_start(self) -> datetime:
        return self.corrected_start or self.start


def _fits(day: date, at: time, minutes: int) -> bool:
    hours = HOURS.get(day.weekday())
    if hours is None:
        return False
    end = datetime.combine(day, at).timestamp() + minutes * 60
    return at >= hours[0] and end <= datetime.combine(day, hours[1]).timestamp()


def _when(
    day_index: int, time_index: int, minutes: int, style: int
) -> tuple[str, datetime, bool]:
    """A day and time phrase that the business can book for this service."""
    for step in range(len(TIMES)):
        phrase, at, window = TIMES[(time_index + step) % len(TIMES)]
        day_phrase, day = DAYS[day_index % len(DAYS)]
        if _fits(day, at, minutes):
            break
    else:
        raise AssertionError(f"no time fits {DAYS[day_index % len(DAYS)]}")
    if window:
        text = f"{day_phrase} {phrase}"
    else:
        text = (
            f"{day_phrase} {phrase}",
            f"{day_phrase} at {phrase.removeprefix('at ')}",
            f"{phrase} {day_phrase}",
            f"{day_phrase} @ {phrase.removeprefix('at ')}",
        )[style % 4]
    return text, datetime.combine(day, at, tzinfo=ZONE), window


def personas() -> list[Persona]:
    rng = random.Random(14)
    out = []
    for i in range(COUNT):
        service_text, service, minutes = SERVICES[i % len(SERVICES)]
        when_text, start, window = _when(i * 5, i * 7, minutes, i)
        name = NAMES[i % len(NAMES)]
        opening, gives = OPENINGS[i % len(OPENINGS)]
        name_text = NAME_STYLES[rng.randrange(len(NAME_STYLES))].format(name=name)
        correction_text = corrected = None
        if rng.random() < 0.2:
            text, corrected, later_window = _when(i * 5 + 3, i * 7 + 4, minutes, 0)
            if corrected == start or later_window:
                corrected = None
            else:
                correction_text = f"actually make it {text}"
        digression_step = digression = None
        if rng.random() < 0.35:
            digression = DIGRESSIONS[rng.randrange(len(DIGRESSIONS))]
            asked = [s for s in STEPS if s[0] not in gives or s == "confirm"]
            digression_step = asked[rng.randrange(len(asked))]
        out.append(
            Persona(
                key=f"p{i:03d}",
                opening=opening.format(
                    service=service_text, when=when_text, name=name
                ).replace(" a e", " an e"),
                gives=gives,
                service_text=service_text,
                service=service,
                when_text=when_text,
                start=start,
                window=window,
                name_text=name_text,
                name=name,
                correction_text=correction_text,
                corrected_start=corrected,
                digression_step=digression_step,
                digression=digression,
            )
        )
    return out
