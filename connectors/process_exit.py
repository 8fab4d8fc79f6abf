"""How the Rasa server process ends: at once, once the server has stopped.

After Sanic's shutdown, Python's own teardown garbage-collects the whole heap
(TensorFlow, the loaded model, Rasa's modules). Measured with py-spy on this
project's server: 3-5 s in `gc_collect_main` on an idle core, more under load, which
alone breaks a 10 s stop budget and makes a rolling restart wait for SIGKILL.
Nothing is left to save by then: state lives in Redis and every client is closed.
So the last shutdown listener flushes the logs and leaves with `os._exit`.
"""

from __future__ import annotations

import logging
import os
import sys

logger = logging.getLogger(__name__)


def exit_now(code: int = 0) -> None:
    """Flush what was logged or printed, then end the process without teardown."""
    logger.info("server stopped; exiting without interpreter teardown")
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
