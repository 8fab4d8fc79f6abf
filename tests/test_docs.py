"""The docs name only things that exist: every `make` target, file path, setting
and environment variable in README.md, docs/ and bench/RESULTS.md is checked
against the Makefile, the repository, the channel's settings and .env.example.
A renamed file or dropped setting fails here, not in a reader's terminal."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from connectors.settings import SmsSettings

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS.append(ROOT / "bench" / "RESULTS.md")
SITE_PACKAGES = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
#: Written by a run, not kept in the repository (the text says what writes them).
RUNTIME = ("results/", "var/", "models/", "bench/results/", "tests/from_logs/")
#: Read by Rasa or Sanic themselves, not by the project (docs/stores.md says so).
READ_BY_RASA = {"LOCK_LIFETIME", "TICKET_LOCK_LIFETIME", "SANIC_WORKERS"}
SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"```.*?```", re.DOTALL)
LOOKS_LIKE_PATH = re.compile(
    r"[\w.\-/]+(/|\.(py|yml|yaml|md|sh|toml|json|csv|lock|in|txt|html|js|css|png|lua))"
)
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")


def spans(doc: Path) -> list[str]:
    """Code spans outside fenced blocks, and each line of a fenced block."""
    text = doc.read_text()
    found = [m.group(1).strip() for m in SPAN.finditer(FENCE.sub("", text))]
    for block in FENCE.findall(text):
        found += [line.strip() for line in block.splitlines()[1:-1]]
    return found


@cache
def tracked() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listing.stdout.splitlines()


def exists(path: str) -> bool:
    """A repository path, a path the reader finds under a folder the text already
    named (`webhook.py` in the connectors/ table), a Python name given as
    `module/file.attr`, or a file of an installed package (`rasa/core/agent.py`)."""
    if path.startswith(RUNTIME) or (ROOT / path).exists():
        return True
    if any(f == path or f.endswith("/" + path) for f in tracked()):
        return True
    if any(f.startswith(path) or f"/{path}" in f for f in tracked()):
        return True  # a folder, named by its tail (`lua/`)
    module, _, attr = path.rpartition(".")
    if module and (ROOT / f"{module}.py").exists():
        return f"def {attr}(" in (ROOT / f"{module}.py").read_text()
    return (SITE_PACKAGES / path).exists()


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, flags=re.MULTILINE))


def env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_make_target_named_exists(doc: Path) -> None:
    named = {t for s in spans(doc) for t in re.findall(r"\bmake ([a-z][a-z-]*)", s)}
    assert not named - makefile_targets(), named - makefile_targets()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_file_path_named_exists(doc: Path) -> None:
    paths = [
        s
        for s in spans(doc)
        if LOOKS_LIKE_PATH.fullmatch(s) and not s.startswith(("/", ".venv"))
    ]
    missing = sorted({p for p in paths if not exists(p)})
    assert not missing, f"{doc.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_environment_variable_named_is_read(doc: Path) -> None:
    named = {s for s in spans(doc) if ENV_NAME.fullmatch(s)}
    unknown = sorted(named - env_example() - READ_BY_RASA)
    assert not unknown, f"{doc.name} names variables nothing reads: {unknown}"


def documented_channel_settings() -> set[str]:
    text = (ROOT / "docs" / "twilio-setup.md").read_text()
    table = text.split("## Settings (credentials.yml", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_every_channel_setting_is_documented_and_every_documented_one_exists() -> None:
    fields = set(SmsSettings.__dataclass_fields__)
    documented = documented_channel_settings()
    assert not fields - documented, f"undocumented: {sorted(fields - documented)}"
    assert not documented - fields, f"no such setting: {sorted(documented - fields)}"
    shipped = yaml.safe_load((ROOT / "credentials.yml").read_text())
    assert set(shipped["connectors.twilio_sms.TwilioSmsInput"]) <= fields


def test_the_checker_fails_on_what_does_not_exist() -> None:
    assert not exists("connectors/no_such_module.py")
    assert not exists("actions/replies.no_such_function")
    assert exists("actions/replies.say") and exists("webhook.py")
    assert "no-such-target" not in makefile_targets()
    readme = spans(ROOT / "README.md")  # the parser reads spans and fenced lines
    assert "make run" in readme and "make test" in readme
    assert "SMS_API_KEYS" in env_example() and "parkng" not in env_example()
