"""The simulated account's clock: twin time runs `speed` twin seconds per real second, and a
test can jump it with `advance`, so that a 6-minute endpoint creation takes 0.6 s at speed
600, or no time at all."""

import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(
        self,
        speed: float = 1.0,
        *,
        real: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}")
        self._real, self._wall = real, wall
        self._lock = threading.Lock()
        self._speed = speed
        self._base_twin = wall()  # twin time starts at the real time
        self._base_real = real()
        self._advanced = 0.0

    @property
    def speed(self) -> float:
        """Twin seconds per real second."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError(f"speed must be positive, not {value}")
        with self._lock:  # what has passed so far keeps its pace
            self._base_twin = self._now()
            self._base_real = self._real()
            self._speed = value

    def now(self) -> float:
        """Twin time, in seconds since the epoch: when states settle."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        return self._base_twin + (self._real() - self._base_real) * self._speed + self._advanced

    def advance(self, seconds: float) -> None:
        """Jump twin time forward: whatever was due by then is settled on the next call."""
        if seconds < 0:
            raise ValueError("the clock never goes back")
        with self._lock:
            self._advanced += seconds

    def stamp(self) -> float:
        """A timestamp to report (CreationTime, LastModifiedTime): real time plus every jump.
        It keeps the real pace, whatever the speed: the product compares these stamps with
        the real times it writes itself (the sweeper matches an endpoint's CreationTime with
        its run's start and finish), which a stamp running 600 times faster would defeat."""
        with self._lock:
            return self._wall() + self._advanced
