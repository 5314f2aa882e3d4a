"""Finishing a file while the user presses Ctrl-C again.

A terminal sends Ctrl-C to the whole process group, and users press it twice; a second
``KeyboardInterrupt`` while a video is finalised or a checkpoint written would leave a broken
file. :func:`shield_interrupts` holds SIGINT and SIGTERM off for a short critical section and
says so once on stderr.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator


class Shield:
    """What happened while shielded: ``received`` counts the signals that were held off."""

    def __init__(self) -> None:
        self.received = 0


@contextlib.contextmanager
def shield_interrupts(message: str) -> Iterator[Shield]:
    """Within the block, Ctrl-C and ``kill`` (SIGTERM) are ignored; the first one prints
    ``rlviz: <message>`` on stderr. Outside the main thread this does nothing (Python only
    lets the main thread set handlers)."""
    shield = Shield()
    if threading.current_thread() is not threading.main_thread():
        yield shield
        return

    def held(signum, frame) -> None:
        shield.received += 1
        if shield.received == 1:
            print(f"rlviz: {message}", file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, held) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield shield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
