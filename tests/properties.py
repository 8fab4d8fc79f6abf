"""One hypothesis setting for every property test: derandomized (a failure
repeats), no example database, no deadline (CI machines stall).

`make test` runs each property with its full number of examples. `make test-fast`
sets PROPERTY_EXAMPLES_SCALE=0.2: the inner loop still tries every property, with
a fifth of the examples, and CI keeps the full strength.
"""

from __future__ import annotations

import os

from hypothesis import settings


def property_settings(max_examples: int) -> settings:
    scale = float(os.environ.get("PROPERTY_EXAMPLES_SCALE") or 1)
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max(10, int(max_examples * scale)),
    )
