"""Dialogue rules the assistant adds to Rasa's policies (run inside the Rasa server)."""
