"""Real-clock tests of fixed-window limits must not straddle a window's edge."""

from __future__ import annotations

import time


def away_from_window_edge(window: float = 60.0, margin: float = 8.0) -> None:
    """Return at least ``margin`` seconds before the next window boundary.

    Limits count in fixed windows (``floor(now / window)``); a burst fired just before
    the boundary would be counted half in one window and half in the next, and admit
    more than the limit, correctly. Tests that count exact admissions wait past it.
    """
    left = window - (time.time() % window)
    if left < margin:
        time.sleep(left + 0.2)
