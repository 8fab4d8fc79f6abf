"""`rasa test nlu --cross-validation` with its folds fixed.

Rasa 3.6 splits the folds with `StratifiedKFold(shuffle=True)` and no seed, that is
numpy's global random state, so each run tested other examples and the F1 moved
between runs although every component has a seed (config.yml). Seeding numpy once
before Rasa's own command line makes the split, and so the figures, repeat.
"""

from __future__ import annotations

import os
import sys

import numpy

SEED_ENV = "CROSSVAL_SEED"
DEFAULT_SEED = 42


def seed_folds() -> int:
    seed = int(os.environ.get(SEED_ENV) or DEFAULT_SEED)
    numpy.random.seed(seed)  # the only randomness StratifiedKFold(shuffle=True) uses
    return seed


def main() -> None:
    seed_folds()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", "test", "nlu", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
