"""A sliding-window rate limit (at most N requests in any S seconds), shared by threads.

``SlidingWindow`` is the pure counter (the sandbox uses it to decide when to answer 429);
``RateLimiter`` is the client's: ``acquire()`` waits through the injected clock, so a test with
a ManualClock never sleeps for real and a well-configured run is never throttled.
"""
from __future__ import annotations

import math
import threading
from collections import deque

from etl.clock import Clock


class SlidingWindow:
    """Timestamps (seconds) of the requests admitted in the last ``per_seconds``."""

    def __init__(self, max_requests: int, per_seconds: float):
        if max_requests <= 0 or per_seconds <= 0:
            raise ValueError("max_requests and per_seconds must be positive")
        self.max_requests = int(max_requests)
        self.per_seconds = float(per_seconds)
        self._times: deque[float] = deque()

    def try_admit(self, now: float) -> float:
        """Admit one request at ``now`` and return 0, or return the seconds to wait (> 0)."""
        horizon = now - self.per_seconds
        times = self._times
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < self.max_requests:
            times.append(now)
            return 0.0
        return max(times[0] - horizon, 1e-3)

    def __len__(self) -> int:
        return len(self._times)


class RateLimiter:
    """The client's limiter, shared by threads; waits with ``clock.sleep``.

    A request holds its slot from ``acquire()`` until ``done(slot)``, and the slot is stamped
    with the moment the answer came back. The server saw the request at or before that moment,
    so when a slot leaves our window it has left the server's window too: a burst never
    overruns the server's limit even when requests are in flight while the clock jumps.
    """

    def __init__(self, max_requests: int, per_seconds: float, clock: Clock):
        if max_requests <= 0 or per_seconds <= 0:
            raise ValueError("max_requests and per_seconds must be positive")
        self.max_requests = int(max_requests)
        self.per_seconds = float(per_seconds)
        self.clock = clock
        self._slots: list[list[float]] = []  # [stamp]; inf while in flight
        self._cond = threading.Condition()
        self._turn = threading.Lock()  # one waiter at a time, in arrival order
        self.waited_s = 0.0

    def acquire(self) -> list[float]:
        """Block until one request may go; returns its slot (pass it to ``done``)."""
        with self._turn:
            while True:
                with self._cond:
                    horizon = self.clock.now().timestamp() - self.per_seconds
                    self._slots = [s for s in self._slots if s[0] > horizon]
                    if len(self._slots) < self.max_requests:
                        slot = [math.inf]
                        self._slots.append(slot)
                        return slot
                    oldest = min(s[0] for s in self._slots)
                    if oldest == math.inf:  # every slot is in flight: wait for an answer
                        self._cond.wait(timeout=1.0)
                        continue
                    wait = max(oldest - horizon, 1e-3)
                self.clock.sleep(wait)
                self.waited_s += wait

    def done(self, slot: list[float]) -> None:
        """The answer to the request holding ``slot`` arrived (or it failed)."""
        with self._cond:
            slot[0] = self.clock.now().timestamp()
            self._cond.notify_all()
