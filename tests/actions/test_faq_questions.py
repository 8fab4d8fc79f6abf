"""Several FAQ questions in one text: every answer, in the order asked, one message."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.business import business
from actions.faq import ANSWERS, CUES, ActionAnswerFaq, faq_answer, faq_topics
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
