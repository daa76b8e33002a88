"""What every workflow script does first: send its output to the rule's log."""

from __future__ import annotations

import logging
import sys


def log_to(path) -> None:
    """Send stderr and the package's logging to the job's log file (line-buffered)."""
    sys.stderr = open(path, "w", buffering=1)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        force=True,
    )
