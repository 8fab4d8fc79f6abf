"""The business's own HTTP API on the Rasa server: start conversations by SMS
(`POST /sms/outbound`), answer hand-offs, and what they share (keys, limits,
quiet hours). Everything here needs an API key (api/keys.py)."""
