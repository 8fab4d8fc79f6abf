"""A reply's text as a phone shows it: plain words, and numbered options read back.

Shared by the action server (which writes replies) and the SMS channel (which sends
them and remembers the options of the last one); neither imports the other.
"""
