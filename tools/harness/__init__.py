"""Real processes to drive from outside: a throw-away redis-server, the SMS stack
(emulator, action server, Rasa server), and what watches them stop.

Used by the tests and by the benchmarks (bench/), so it lives outside `tests/`: a
benchmark imports no test module.
"""
