"""Which business the assistant is built for, and where its files are.

This repository's own business is the files at the top (actions/business.yml,
domain.yml, data/, tests/test_stories.yml, tests/bank/bank.yml); `BUSINESS=folder`
names another, a folder holding business.yml, domain.yml, data/, test_stories.yml
and bank.yml (docs/adapting.md). The Makefile reads BUSINESS the same way
(`make business-paths` prints its choice; a test keeps the two in step).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BusinessFolder:
    business_file: Path
    domain: Path
    data: Path
    test_stories: Path
    #: The conversation bank's customers for this business (tests/bank/).
    bank: Path
    model: Path

    @property
    def nlu(self) -> Path:
        return self.data / "nlu"


def business_folder(name: str | None = None) -> BusinessFolder:
    """The folder `name` (default: the BUSINESS variable; empty: this repository's
    own business), relative to the repository unless absolute."""
    name = (os.environ.get("BUSINESS", "") if name is None else name).strip()
    if not name:
        return BusinessFolder(
            business_file=ROOT / "actions" / "business.yml",
            domain=ROOT / "domain.yml",
            data=ROOT / "data",
            test_stories=ROOT / "tests" / "test_stories.yml",
            bank=ROOT / "tests" / "bank" / "bank.yml",
            model=ROOT / "models" / "assistant.tar.gz",
        )
    folder = ROOT / name.rstrip("/")
    return BusinessFolder(
        business_file=folder / "business.yml",
        domain=folder / "domain.yml",
        data=folder / "data",
        test_stories=folder / "test_stories.yml",
        bank=folder / "bank.yml",
        model=ROOT / "models" / f"{folder.name}.tar.gz",
    )
