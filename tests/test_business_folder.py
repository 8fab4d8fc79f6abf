"""A business is a folder of files (docs/adapting.md): make and the Python side
agree on which, and each shipped business has every file, consistent with its
business file."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from actions.business import check, load_business
from tools.business_folder import ROOT, business_folder

SHIPPED = ["", "examples/salon"]


def make(target: str, business: str | Path) -> subprocess.CompletedProcess[str]:
    """`make -s target BUSINESS=business`, with no BUSINESS* of this process's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BUSINESS") and k != "MAKEFLAGS"
    }
    return subprocess.run(  # noqa: S603
        ["make", "-s", target, f"BUSINESS={business}"],  # noqa: S607
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_make_and_python_name_the_same_files(name: str) -> None:
    done = make("business-paths", name)
    assert done.returncode == 0, done.stderr
    said = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    folder = business_folder(name)
    assert {k: ROOT / v for k, v in said.items()} == {
        "business file": folder.business_file,
        "domain": folder.domain,
        "data": folder.data,
        "test stories": folder.test_stories,
        "model": folder.model,
    }


def test_a_folder_with_no_business_file_stops_make_naming_it(tmp_path: Path) -> None:
    done = make("train", tmp_path)
    assert done.returncode != 0
    assert f"BUSINESS={tmp_path} has no business.yml" in done.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_business_is_whole_and_agrees_with_its_bank(name: str) -> None:
    folder = business_folder(name)
    for path in (folder.business_file, folder.domain, folder.test_stories, folder.bank):
        assert path.is_file(), path
    assert sorted(p.name for p in folder.data.iterdir()) == ["nlu", "rules", "stories"]
    assert check(folder.business_file) == []
    keys = {s.key for s in load_business(folder.business_file).services}
    bank = yaml.safe_load(folder.bank.read_text())
    assert {key for _phrase, key in bank["services"]} == keys
    assert {u["service"] for u in bank["unbookable"]} <= keys


def test_the_salon_is_another_business_not_a_copy() -> None:
    dental = load_business(business_folder("").business_file)
    salon = load_business(business_folder("examples/salon").business_file)
    assert salon.name != dental.name and salon.timezone != dental.timezone
    assert not {s.key for s in salon.services} & {s.key for s in dental.services}
    assert salon.hours[3].closes.hour == 21  # late on Thursdays
    assert set(salon.faq) == {"walk_ins", "gift_cards"}


def test_business_names_a_folder_for_the_servers_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from replytext.business_file import business_file

    monkeypatch.delenv("BUSINESS_FILE", raising=False)
    monkeypatch.setenv("BUSINESS", "examples/salon")
    assert business_file() == business_folder().business_file
    monkeypatch.setenv("BUSINESS_FILE", str(Path("/elsewhere/b.yml")))
    assert business_file() == Path("/elsewhere/b.yml")  # the file, named, wins
    monkeypatch.delenv("BUSINESS")
    monkeypatch.delenv("BUSINESS_FILE")
    assert business_file() == ROOT / "actions" / "business.yml"
