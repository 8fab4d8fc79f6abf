"""The business file is checked whole as the servers start: every problem at once,
one line naming its key, and no server runs with a bad file (docs/adapting.md)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.business import check, load_business, parse_business

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
SHIPPED = ROOT / "actions" / "business.yml"


def shipped() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    return loaded


def bad_file(tmp_path: Path) -> Path:
    """Five mistakes a bot author makes: a misspelt optional key, an unknown time
    zone, hours in the wrong form, a service duration with its unit, a missing
    phone."""
    raw = shipped()
    raw["parkng"] = raw.pop("parking")
    raw["timezone"] = "America/Springfield"
    raw["hours"]["mon"] = "9-5"
    raw["services"][1]["duration_minutes"] = "30 min"
    raw["booking"]["horizon_day"] = raw["booking"].pop("horizon_days")
    del raw["phone"]
    path = tmp_path / "business.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


EXPECTED = [
    "parkng: unknown key (did you mean parking?)",
    "phone: missing",
    "booking.horizon_day: unknown key (did you mean horizon_days?)",
    "timezone: unknown time zone 'America/Springfield' (e.g. America/New_York)",
    "hours.mon: expected 'HH:MM-HH:MM' or closed, got '9-5'",
    "services[1].duration_minutes: expected a whole number of at least 1, got '30 min'",
]


def test_the_shipped_file_has_no_problem() -> None:
    assert check(SHIPPED) == []
    assert load_business(SHIPPED).name == shipped()["name"]


def test_every_problem_is_named_at_once_one_line_per_key(tmp_path: Path) -> None:
    assert sorted(check(bad_file(tmp_path))) == sorted(EXPECTED)


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"date_order": "YMD"}, "date_order: expected MDY or DMY, got 'YMD'"),
        ({"services": []}, "services: expected a list of at least one service"),
        ({"hours": {"mon": "18:00-08:00"}}, "hours.mon: closing time is not after"),
        ({"hours": {"monday": "08:00-18:00"}}, "hours.monday: unknown key (did you"),
        ({"booking": {"slot_interval_minutes": 0}}, "booking.slot_interval_minutes"),
        ({"cancellation": "24h"}, "cancellation: expected a mapping"),
        ({"insurance": "Cigna"}, "insurance: expected a list of names"),
        ({"name": ""}, "name: expected a text"),
    ],
)
def test_a_wrong_value_is_named(change: dict[str, Any], line: str) -> None:
    with pytest.raises(ValueError) as problem:
        parse_business({**shipped(), **change})
    assert [p for p in str(problem.value).splitlines() if p.startswith(line)]


def test_a_service_key_used_twice_is_a_problem() -> None:
    raw = shipped()
    raw["services"][1]["key"] = raw["services"][0]["key"]
    assert "services: key 'cleaning' is used twice" in check_raw(raw)


def check_raw(raw: dict[str, Any]) -> list[str]:
    try:
        parse_business(raw)
    except ValueError as err:
        return str(err).splitlines()
    return []


def test_a_file_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "business.yml"
    path.write_text("name: A\nhours: [\n")
    [line] = check(path)
    assert line.startswith("the file: not valid YAML at line")


def test_the_check_command_prints_each_problem_and_fails(tmp_path: Path) -> None:
    path = bad_file(tmp_path)
    done = subprocess.run(
        [str(BIN / "python"), "-m", "actions"],
        cwd=ROOT,
        env={**os.environ, "BUSINESS_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert sorted(done.stderr.splitlines()) == sorted(f"{path}: {e}" for e in EXPECTED)


@pytest.mark.e2e
def test_the_action_server_does_not_start_with_a_bad_file(tmp_path: Path) -> None:
    env = {**os.environ, "BUSINESS_FILE": str(bad_file(tmp_path))}
    done = subprocess.run(
        [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    for expected in EXPECTED:
        assert expected in done.stderr
