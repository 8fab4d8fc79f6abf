"""`make run`'s settings fail loudly before anything starts, and .env is read with
the shell's own environment winning (scripts/run.sh, scripts/dotenv.sh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SID = "AC" + "0123456789abcdef" * 2


def run(
    env: dict[str, str], tmp_path: Path, dotenv: str | None = None
) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "test.env"
    if dotenv is not None:
        file.write_text(dotenv)
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TWILIO_", "PUBLIC_URL"))
    }
    return subprocess.run(
        [str(ROOT / "scripts" / "run.sh")],
        cwd=ROOT,
        env={**clean, "DOTENV": str(file), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"TWILIO_ACCOUNT_SID": SID}, "TWILIO_AUTH_TOKEN is not"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "t"}, "PUBLIC_URL is not"),
        (
            {
                "TWILIO_ACCOUNT_SID": SID,
                "TWILIO_AUTH_TOKEN": "t",
                "PUBLIC_URL": "https://b.example.com",
            },
            "set TWILIO_NUMBERS (E.164, comma separated) or TWILIO_MESSAGING_SERVICE_SID",
        ),
    ],
)
def test_a_twilio_account_without_what_it_needs_stops_the_start(
    env: dict[str, str], says: str, tmp_path: Path
) -> None:
    done = run(env, tmp_path)
    assert done.returncode == 2
    assert says in done.stderr
    assert "redis on" not in done.stdout  # nothing was started


def test_the_env_file_is_read_and_the_shell_wins(tmp_path: Path) -> None:
    dotenv = f'# my settings\nexport TWILIO_ACCOUNT_SID={SID}\nTWILIO_AUTH_TOKEN="tok # en"\nPUBLIC_URL=https://from-file.example.com # here\n'
    done = run({}, tmp_path, dotenv)
    assert done.returncode == 2
    assert "set TWILIO_NUMBERS" in done.stderr  # the file's three settings were read
    shell_wins = run({"PUBLIC_URL": ""}, tmp_path, dotenv)
    assert "PUBLIC_URL is not" in shell_wins.stderr
    assert "tok # en" not in shell_wins.stderr + shell_wins.stdout


def test_a_malformed_env_file_names_the_line_not_the_value(tmp_path: Path) -> None:
    done = run({}, tmp_path, "GOOD=1\nsecret-token-value\n")
    assert done.returncode == 2
    assert "line 2: expected KEY=value" in done.stderr
    assert "secret-token-value" not in done.stderr


def test_a_bad_business_file_stops_the_start_naming_each_key(tmp_path: Path) -> None:
    business = tmp_path / "business.yml"
    text = (ROOT / "actions" / "business.yml").read_text()
    business.write_text(
        text.replace("parking:", "parkng:").replace("sun: closed", "sun: 9-5")
    )
    done = run({"BUSINESS_FILE": str(business)}, tmp_path)
    assert done.returncode == 2
    assert f"{business}: parkng: unknown key (did you mean parking?)" in done.stderr
    assert f"{business}: hours.sun: expected 'HH:MM-HH:MM' or closed" in done.stderr
    assert "redis on" not in done.stdout  # nothing was started
