"""`make validate` checks the NLU's service words against the business file, so a
business adapted in one place and not the other fails loudly (tools/check_services.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.business import load_business, parse_business
from tools.business_folder import business_folder
from tools.check_services import faq_problems, problems

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(business_folder("").nlu.glob("*.yml"))


def salon() -> Any:
    raw: dict[str, Any] = yaml.safe_load(
        (ROOT / "actions" / "business.yml").read_text()
    )
    raw["services"] = [
        {"key": "haircut", "name": "haircut", "duration_minutes": 45, "price": 40},
        {"key": "colour", "name": "colour", "duration_minutes": 90, "price": 95},
    ]
    return parse_business(raw)


@pytest.mark.parametrize("name", ["", "examples/salon"])
def test_each_shipped_businesss_data_and_file_agree(name: str) -> None:
    folder = business_folder(name)
    biz = load_business(folder.business_file)
    assert problems(biz, sorted(folder.nlu.glob("*.yml"))) == []
    assert faq_problems(biz, folder.domain) == []


def test_a_new_business_with_the_old_words_is_told_each_mismatch() -> None:
    found = problems(salon(), SHIPPED)
    assert any("synonym 'cleaning' is not a service key" in f for f in found)
    assert any("lookup word 'teeth whitening' names no service" in f for f in found)
    unreached = [f.split(":")[0] for f in found if f.startswith("service ")]
    assert unreached == ["service 'colour'", "service 'haircut'"]


def test_words_for_the_new_business_pass(tmp_path: Path) -> None:
    nlu = tmp_path / "services.yml"
    nlu.write_text(
        'version: "3.1"\nnlu:\n'
        "  - synonym: haircut\n    examples: |\n      - trim\n      - cut\n"
        "  - synonym: colour\n    examples: |\n      - color\n      - highlights\n"
        "  - lookup: service\n    examples: |\n      - trim\n      - hair colour\n"
    )
    assert problems(salon(), [nlu]) == []
    nlu.write_text(nlu.read_text() + "      - manicure\n")
    assert problems(salon(), [nlu]) == [
        "services.yml: lookup word 'manicure' names no service"
    ]


def test_a_faq_topic_the_domain_knows_needs_an_answer(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text(
        'version: "3.1"\nresponses:\n'
        "  utter_faq/hours:\n    - text: hours\n"
        "  utter_faq/walk_ins:\n    - text: walk-ins\n"
    )
    biz = load_business(business_folder("").business_file)
    assert faq_problems(biz, domain) == [
        "domain.yml: utter_faq/walk_ins has no answer (add faq.walk_ins.answer to "
        "the business file)"
    ]
    walk_ins = {"walk_ins": {"answer": "Walk-ins welcome."}}
    raw: dict[str, Any] = yaml.safe_load(
        (ROOT / "actions" / "business.yml").read_text()
    )
    assert faq_problems(parse_business({**raw, "faq": walk_ins}), domain) == []
