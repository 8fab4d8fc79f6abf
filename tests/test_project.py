"""Project-level promises: pinned versions, enough NLU data, enough test stories."""

from __future__ import annotations

import ast
import re
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from tools.business_folder import business_folder

ROOT = Path(__file__).parents[1]


def test_rasa_and_rasa_sdk_share_major_minor() -> None:
    rasa, sdk = version("rasa").split("."), version("rasa-sdk").split(".")
    assert rasa[:2] == sdk[:2], (version("rasa"), version("rasa-sdk"))


def test_lock_pins_every_dependency() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines and all(
        re.match(r"^[A-Za-z0-9_.\-\[\]]+==\S+$", line) for line in lines
    )


#: The businesses shipped: this repository's own and the salon (docs/adapting.md).
BUSINESSES = pytest.mark.parametrize("name", ["", "examples/salon"])


def nlu_examples(name: str = "") -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in business_folder(name).nlu.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                examples = [
                    re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line[2:].strip())
                    for line in block["examples"].splitlines()
                    if line.strip().startswith("- ")
                ]
                found.setdefault(block["intent"], []).extend(examples)
    return found


@BUSINESSES
def test_every_intent_has_fifteen_examples_with_sms_style_writing(name: str) -> None:
    domain = yaml.safe_load(business_folder(name).domain.read_text())
    examples = nlu_examples(name)
    retrieval = {k.split("/")[0] for k in examples if "/" in k}
    for intent in domain["intents"]:
        if intent.startswith("EXTERNAL_"):
            continue  # triggered by the business's systems, never typed
        keys = [k for k in examples if k == intent or k.startswith(f"{intent}/")]
        assert keys, intent
        for key in keys:
            texts = examples[key]
            assert len(texts) >= 15, (key, len(texts))
            # at least one lower-case, unpunctuated text message per intent
            assert any(t == t.lower() and not re.search(r"[.!?]$", t) for t in texts), (
                key
            )
    assert retrieval == {"faq"}
    assert len([k for k in examples if k.startswith("faq/")]) >= 8


@BUSINESSES
def test_sms_shorthand_is_in_the_training_data(name: str) -> None:
    everything = {t.lower() for texts in nlu_examples(name).values() for t in texts}
    for shorthand in (
        "r u open sat",
        "cxl my appt",
        "need 2 reschedule",
        "wat time u close",
    ):
        assert shorthand in everything, shorthand


@BUSINESSES
def test_there_are_at_least_thirty_test_conversations(name: str) -> None:
    stories = yaml.safe_load(business_folder(name).test_stories.read_text())["stories"]
    assert len(stories) >= 30


def test_every_business_keeps_the_domain_the_actions_rely_on() -> None:
    """A business rewords replies and chooses its FAQ topics; its intents, slots,
    forms and actions are the code's."""
    own, salon = (
        yaml.safe_load(business_folder(n).domain.read_text())
        for n in ("", "examples/salon")
    )
    for key in ("intents", "entities", "slots", "forms", "actions", "session_config"):
        assert salon[key] == own[key], key
    plain = {r for r in own["responses"] if not r.startswith("utter_faq/")}
    assert plain == {r for r in salon["responses"] if not r.startswith("utter_faq/")}


@BUSINESSES
def test_every_service_word_maps_to_a_service_in_the_business_file(name: str) -> None:
    from actions.business import load_business

    folder = business_folder(name)
    keys = {s.key for s in load_business(folder.business_file).services}
    synonyms: dict[str, str] = {}
    lookup: list[str] = []
    for path in folder.nlu.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            words = [
                line[2:].strip()
                for line in block.get("examples", "").splitlines()
                if line.strip().startswith("- ")
            ]
            if "synonym" in block:
                synonyms.update({w.lower(): block["synonym"] for w in words})
            if block.get("lookup") == "service":
                lookup += words
    assert lookup
    for word in lookup:
        assert synonyms.get(word.lower(), word) in keys, word


def test_a_session_ends_after_24_hours_and_only_the_name_carries_over() -> None:
    """Rasa's own carry-over is off; action_session_start carries just the name."""
    from rasa.shared.core.domain import Domain

    from actions.session import CARRIED_OVER

    config = Domain.load(str(ROOT / "domain.yml")).session_config
    assert config.session_expiration_time == 1440
    assert config.carry_over_slots is False
    assert CARRIED_OVER == ("customer_name",)


def test_endpoints_yml_uses_the_projects_redis_stores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `make run` loads: Rasa's own loaders build our two stores unwrapped, on
    the Redis that REDIS_PORT names (as scripts/run.sh sets it), with the same
    settings as the channel's, so the Rasa process has one connection pool."""
    from rasa.core.lock_store import LockStore
    from rasa.core.utils import AvailableEndpoints

    from connectors.settings import SmsSettings
    from redisio import default_url
    from stores.lock_store import RedisTicketLockStore
    from stores.tracker_store import RedisSessionTrackerStore

    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_PORT", "6391")
    monkeypatch.setenv("REDIS_URL", default_url())
    monkeypatch.setenv("ACTION_PORT", "5056")
    endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
    assert endpoints.action.url == "http://127.0.0.1:5056/webhook"
    assert (
        endpoints.tracker_store.type == "stores.tracker_store.RedisSessionTrackerStore"
    )
    lock_store = LockStore.create(endpoints.lock_store)
    assert isinstance(lock_store, RedisTicketLockStore)
    assert lock_store.key_prefix == "lock"
    tracker_store = RedisSessionTrackerStore(
        host=endpoints.tracker_store.url, **endpoints.tracker_store.kwargs
    )
    channel = SmsSettings.from_credentials(
        {
            "account_sid": "AC" + "0" * 32,
            "auth_token": "x" * 32,
            "public_url": "https://bot.example.com",
            "numbers": "+15017122661",
        }
    )
    assert lock_store.redis.settings.port == 6391
    assert lock_store.redis.settings == tracker_store.redis.settings
    assert tracker_store.redis.settings == channel.redis


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_pure_modules_import_no_io_library() -> None:
    """The rules of a turn and the text shaping are plain functions: no Redis,
    Rasa, Sanic, twilio or HTTP client, so their tests need no process."""
    io = ("redis", "rasa", "rasa_sdk", "sanic", "twilio", "aiohttp")
    for name in (
        "connectors/turn_rules.py",
        "connectors/sms_text.py",
        "connectors/inbound.py",
        "connectors/keywords.py",
        "replytext/options.py",
        "replytext/plain.py",
    ):
        imported = _imported_modules(ROOT / name)
        bad = sorted(m for m in imported if m.split(".")[0] in io)
        assert bad == [], f"{name} imports {bad}"


def test_the_channel_does_not_import_the_action_server() -> None:
    """The Rasa image needs no actions/: what both sides share is replytext/."""
    for path in sorted((ROOT / "connectors").glob("*.py")):
        actions = [m for m in _imported_modules(path) if m.split(".")[0] == "actions"]
        assert actions == [], f"{path.name} imports {actions}"
