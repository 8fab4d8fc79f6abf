"""Custom actions for the SMS appointment assistant; rasa_sdk registers every module."""

from actions import config  # noqa: F401  (settings first: the Redis password is

# registered as a secret when they are parsed)
from connectors import log_privacy

# The action server logs sender ids (phone numbers) and may log Redis URLs.
log_privacy.install()
