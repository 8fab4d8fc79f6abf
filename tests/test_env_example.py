"""`.env.example` lists every environment variable the project reads, and nothing
it does not: a setting added to the code without a line there fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Python: os.environ.get("X"), environ["X"], env.get("X"), _number(env, "X", …),
#: and a name kept in a constant ending in _ENV (KEYS_ENV = "SMS_API_KEYS").
PY_READS = re.compile(
    r"""(?:environ(?:\.get)?\(?\[?|env\.get\(|env\[|\(\s*env,\s*|_ENV\s*=\s*)"""
    r"""["']([A-Z][A-Z0-9_]+)["']"""
)
#: YAML read by Rasa: ${X}.
YAML_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]+)\}")
#: Shell: "${X:-…}", "${X:?…}", "${X:-}" on a variable the script reads from outside.
SH_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]+):[-?]")
#: Read, but not settings: set by the scripts for their own children or by tests.
INTERNAL = {
    "RUN_SH_SIGNALS_RESET",  # run.sh re-executing itself
    "RASA_TELEMETRY_ENABLED",  # always false, set by the Makefile
    "PYTHONHASHSEED",
    "TF_CPP_MIN_LOG_LEVEL",
    "SANIC_WORKERS",  # run.sh passes WORKERS as this
    "SANIC_HOST",
    "PROPERTY_EXAMPLES_SCALE",  # make test-fast
    "DOTENV",  # which .env file: documented in scripts/dotenv.sh
    "CHROMIUM",  # the browser test's browser
}
#: Script-internal names the shell patterns also match.
SHELL_LOCALS = {
    "MODE",
    "OUT",
    "TARGET",
    "RUNS",
    "SECONDS",
    "SHUTDOWN_LOAD",
    "SHUTDOWN_SIGNALS",
    "BROWSER",
}


def read_in_code() -> set[str]:
    found: set[str] = set()
    for folder in (
        "actions",
        "api",
        "analytics",
        "connectors",
        "stores",
        "redisio",
        "policies",
        "replytext",
        "tools",
    ):
        for path in (ROOT / folder).rglob("*.py"):
            if "harness" in path.parts:
                continue
            found |= set(PY_READS.findall(path.read_text()))
    for name in ("credentials.yml", "endpoints.yml"):
        found |= set(YAML_READS.findall((ROOT / name).read_text()))
    for name in ("run.sh", "redis.sh"):
        found |= set(SH_READS.findall((ROOT / "scripts" / name).read_text()))
    return found - INTERNAL - SHELL_LOCALS


def listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    missing = read_in_code() - listed()
    assert not missing, f"add these to .env.example with a comment: {sorted(missing)}"


def test_env_example_lists_nothing_the_code_does_not_read() -> None:
    read = read_in_code() | {
        "PHONE_FROM",
        "PHONE_TO",
        "EMULATOR_PORT",
    }  # the Makefile's
    stale = listed() - read
    assert not stale, f".env.example lists variables nothing reads: {sorted(stale)}"


def test_each_listed_variable_says_what_it_is() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^# [A-Z][A-Z0-9_]+=", line):
            assert " # " in line.split("=", 1)[1], f"no comment: {line}"
