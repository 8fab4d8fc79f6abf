"""Custom actions for the SMS appointment assistant; rasa_sdk registers every module."""

from urllib.parse import urlsplit

from actions import config
from connectors import log_privacy

# The action server logs sender ids (phone numbers) and may log Redis URLs.
log_privacy.install()
log_privacy.register_secret(urlsplit(config.REDIS_URL).password)
