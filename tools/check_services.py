"""The NLU's service words and the domain's FAQ topics against the business file:
`make validate` runs it.

The actions turn a `service` entity into a service by its key (a synonym maps
"teeth cleaning" to `cleaning`) or find a service's key or name in the text. A
synonym to a key the business does not have, a lookup word that names no service,
or a service no NLU word leads to, is a booking that silently cannot happen; after
adapting the business file, this names each one.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from actions.business import Business, BusinessFileError, load_business
from actions.faq import known_topics
from tools.business_folder import ROOT, business_folder


def faq_problems(business: Business, domain: Path | None = None) -> list[str]:
    """Topics the assistant can recognise but not answer."""
    domain = domain or business_folder().domain
    responses = (yaml.safe_load(domain.read_text()) or {}).get("responses") or {}
    topics = {r.split("/", 1)[1] for r in responses if r.startswith("utter_faq/")}
    return [
        f"domain.yml: utter_faq/{topic} has no answer (add faq.{topic}.answer to "
        "the business file)"
        for topic in sorted(topics - known_topics(business))
    ]


def _items(text: str | None) -> list[str]:
    return [
        line.strip()[2:].strip()
        for line in (text or "").splitlines()
        if line.strip().startswith("- ")
    ]


def problems(business: Business, nlu_files: list[Path]) -> list[str]:
    keys = {s.key for s in business.services}
    words = keys | {s.name.lower() for s in business.services}
    synonyms: dict[str, tuple[str, list[str]]] = {}
    lookups: list[tuple[str, str]] = []
    for path in nlu_files:
        data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
        for block in data.get("nlu") or []:
            if "synonym" in block:
                target = str(block["synonym"])
                synonyms[target] = (path.name, _items(block.get("examples")))
            elif block.get("lookup") == "service":
                lookups += [(path.name, w) for w in _items(block.get("examples"))]
    found: list[str] = []
    for target, (name, _examples) in sorted(synonyms.items()):
        if target not in keys:
            found.append(
                f"{name}: synonym {target!r} is not a service key of the business "
                f"file (keys: {', '.join(sorted(keys))})"
            )
    mapped = {w.lower() for t, (_n, ex) in synonyms.items() if t in keys for w in ex}
    for name, word in lookups:
        lowered = word.lower()
        if lowered not in mapped and not any(w in lowered for w in words):
            found.append(f"{name}: lookup word {word!r} names no service")
    reached = {t for t in synonyms if t in keys} | {
        k for _n, w in lookups for k in keys if k in w.lower()
    }
    for key in sorted(keys - reached):
        found.append(
            f"service {key!r}: no NLU word leads to it (add a synonym with its key, "
            "or a lookup word holding it)"
        )
    return found


def main() -> int:
    folder = business_folder()
    try:
        business = load_business(folder.business_file)
    except BusinessFileError as err:
        print(f"{folder.business_file}: {err}", file=sys.stderr)
        return 2
    found = problems(business, sorted(folder.nlu.glob("*.yml")))
    found += faq_problems(business, folder.domain)
    nlu = folder.nlu.relative_to(ROOT)
    for line in found:
        in_nlu = ".yml:" in line and not line.startswith("domain.yml")
        print(f"{nlu}/{line}" if in_nlu else line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
