"""Custom actions for the SMS appointment assistant; rasa_sdk registers every module."""

from actions import config  # noqa: F401  (settings first: the Redis password is

# registered as a secret when they are parsed)
from connectors import log_privacy

# The action server logs sender ids (phone numbers) and may log Redis URLs.
log_privacy.install()

# The business file is checked as the action server starts (rasa_sdk imports this
# package first) and by `python -m actions` (make run, before any server): every
# problem, one line per key, and no server with a bad file.
from actions.business import check  # noqa: E402

_problems = check()
if _problems:
    import sys

    for _line in _problems:
        print(f"{config.BUSINESS_FILE}: {_line}", file=sys.stderr)
    raise SystemExit(2)
