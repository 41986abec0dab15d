"""Call limits per role: a concurrency semaphore, a requests-per-minute token bucket, exponential backoff with
jitter, and a per-backend gate that slows every role of that backend down after a rate-limit signal.

The gate is shared by all roles that use the same backend name (one service, one quota): a RateLimited from
the editor pauses the writer too, for `retry_after` when the service says so, else for the backoff delay,
and halves the backend's request rate, which then recovers by 10% per successful call (additive-increase /
multiplicative-decrease, as TCP does).
"""

from __future__ import annotations

import asyncio
import random
import time


class TokenBucket:
    """At most `rpm` calls per minute on average, with bursts up to `burst` calls."""

    def __init__(self, rpm: float | None, burst: float | None = None):
        self.rpm = rpm
        self.capacity = burst or (max(1.0, rpm / 60) if rpm else 1.0)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, rate_factor: float = 1.0) -> None:
        if not self.rpm:
            return
        async with self._lock:
            per_s = self.rpm * rate_factor / 60
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * per_s)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / per_s)


class BackendGate:
    """The global slow-down of one backend (shared by all roles that use it)."""

    def __init__(self, name: str):
        self.name = name
        self.paused_until = 0.0
        self.rate_factor = 1.0
        self.rate_limited = 0  # how many RateLimited signals this backend sent

    async def wait(self) -> None:
        while (delay := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    def slow_down(self, pause_s: float) -> None:
        self.rate_limited += 1
        self.paused_until = max(self.paused_until, time.monotonic() + pause_s)
        self.rate_factor = max(0.05, self.rate_factor / 2)

    def succeeded(self) -> None:
        if self.rate_factor < 1.0:
            self.rate_factor = min(1.0, self.rate_factor * 1.1)


class RoleLimiter:
    def __init__(self, concurrency: int, rpm: float | None, gate: BackendGate):
        self.semaphore = asyncio.Semaphore(concurrency)
        self.bucket = TokenBucket(rpm)
        self.gate = gate


def backoff_delay(retry: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with ±50% jitter (so that many waiting calls do not retry in lock-step)."""
    return min(max_s, base_s * 2 ** retry) * rng.uniform(0.5, 1.5)
