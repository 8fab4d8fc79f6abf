"""Several FAQ questions in one text: every answer, in the order asked, one message."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.business import Business, BusinessFileError, business, parse_business
from actions.config import BUSINESS_FILE
from actions.faq import (
    ANSWERS,
    CUES,
    ActionAnswerFaq,
    cues_for,
    faq_answer,
    faq_topics,
    known_topics,
)
from actions.replies import compose
from tests.actions.trackers import DOMAIN, make_tracker, texts

BIZ = business()


def answer(*topics: str) -> str:
    """What the customer should read: the business file's answers, one text."""
    return " ".join(faq_answer(topic, BIZ) or "" for topic in topics)


async def ask(text: str, selector_topic: str | None) -> list[str]:
    """The replies to `text` when the ResponseSelector picked `selector_topic`."""
    key = f"faq/{selector_topic}" if selector_topic else None
    selector = {"faq": {"response": {"intent_response_key": key}}}
    tracker = make_tracker(text, "faq", extra_message={"response_selector": selector})
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerFaq().run(dispatcher, tracker, DOMAIN) == []
    said = texts(dispatcher)
    assert all(compose(text) == text for text in said)  # plain, one line
    return said


async def test_two_questions_get_both_answers_in_one_text_in_order() -> None:
    said = await ask("where do i park and what time do u close on friday", "hours")
    assert said == [answer("parking", "hours")]


async def test_one_question_gets_only_its_answer() -> None:
    assert await ask("what are your hours?", "hours") == [answer("hours")]


async def test_a_cue_of_another_topic_inside_one_question_adds_no_answer() -> None:
    assert await ask("how much is parking", "parking") == [answer("parking")]
    # "and" inside a word is no second question
    assert await ask("how much is handicap parking", "parking") == [answer("parking")]


async def test_questions_split_at_a_question_mark_and_also() -> None:
    said = await ask(
        "do you take delta dental? also how much is a cleaning", "insurance"
    )
    assert said == [answer("insurance", "prices")]


async def test_three_questions_get_three_answers() -> None:
    said = await ask(
        "what time do you open on saturday? where do i park and do you take aetna",
        "hours",
    )
    assert said == [answer("hours", "parking", "insurance")]


async def test_the_same_topic_asked_twice_is_answered_once() -> None:
    said = await ask("are you open saturday and what time do you close sunday", "hours")
    assert said == [answer("hours")]


async def test_the_selected_topic_answers_the_question_without_cues() -> None:
    said = await ask("is it easy to find and what time do you close", "location")
    assert said == [answer("location", "hours")]
    # every question has its own cue: the selector's topic comes first
    said = await ask("where do i park and what time do you close", "contact")
    assert said == [answer("contact", "parking", "hours")]


async def test_an_unknown_topic_keeps_the_sorry_reply() -> None:
    said = await ask("do you do braces", "orthodontics")
    assert said == ["Sorry, I don't know that one. " + answer("contact")]
    assert await ask("hmm", None) == said


@pytest.mark.parametrize(
    ("text", "selector_topic", "topics"),
    [
        (
            "where do i park and what time do u close on friday",
            "hours",
            ["parking", "hours"],
        ),
        (
            "where do i park and what time do u close on friday",
            None,
            ["parking", "hours"],
        ),
        ("how much is parking", "prices", ["prices"]),
        ("how much is parking", None, ["parking"]),
        ("thanks! where do i park", "parking", ["parking"]),
        (
            "whats the late cancel fee & whats ur phone number",
            None,
            ["cancellation_policy", "contact"],
        ),
        (
            "what services do you offer, and how much are they",
            "services",
            ["services", "prices"],
        ),
        ("hmm and ok", None, []),
        ("", None, []),
    ],
)
def test_faq_topics(text: str, selector_topic: str | None, topics: list[str]) -> None:
    assert faq_topics(text, selector_topic) == topics


def test_every_faq_topic_has_cue_words() -> None:
    assert set(CUES) == set(ANSWERS)


def with_faq(faq: dict[str, object]) -> Business:
    raw = yaml.safe_load(BUSINESS_FILE.read_text())
    return parse_business({**raw, "faq": faq})


SALON_FAQ = {
    "walk_ins": {
        "answer": "Walk-ins are welcome at {name} when a chair is free; call {phone}.",
        "words": ["walk in", "walk-in", "walk ins", "without an appointment"],
    },
    "parking": {"answer": "Park in the lot behind the salon."},
}


def test_a_topic_added_in_the_business_file_is_answered_without_code() -> None:
    biz = with_faq(SALON_FAQ)
    assert faq_answer("walk_ins", biz) == (
        f"Walk-ins are welcome at {biz.name} when a chair is free; call {biz.phone}."
    )
    assert faq_answer("parking", biz) == "Park in the lot behind the salon."
    assert faq_answer("hours", biz) == faq_answer("hours", BIZ)  # built in, kept
    assert "walk_ins" in known_topics(biz) and "walk_ins" not in known_topics(BIZ)


def test_an_added_topics_words_find_it_among_several_questions() -> None:
    cues = cues_for(with_faq(SALON_FAQ))
    asked = "what time do you close and do you take walk ins"
    assert faq_topics(asked, "hours", cues) == ["hours", "walk_ins"]
    assert faq_topics(asked, "hours") == ["hours"]  # unknown to the built-in cues


@pytest.mark.parametrize(
    ("faq", "line"),
    [
        ({"walk_ins": {"words": ["walk in"]}}, "faq.walk_ins.answer: missing"),
        ({"walk_ins": {"answer": "x", "word": []}}, "faq.walk_ins.word: unknown key"),
        ({"Walk Ins": {"answer": "x"}}, "faq.Walk Ins: a topic is lower case"),
        ({"walk_ins": {"answer": "x", "words": "walk in"}}, "faq.walk_ins.words"),
    ],
)
def test_a_bad_faq_entry_is_named(faq: dict[str, object], line: str) -> None:
    with pytest.raises(BusinessFileError) as problem:
        with_faq(faq)
    assert any(p.startswith(line) for p in str(problem.value).splitlines())
