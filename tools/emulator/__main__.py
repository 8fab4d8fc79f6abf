"""`python -m tools.emulator --help`."""

import sys

from tools.emulator.server import main

sys.exit(main())
