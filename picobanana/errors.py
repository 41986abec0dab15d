"""One exception tree for picobanana.

    PicobananaError
    ├── ConfigError          a setting is missing or malformed
    ├── StoreError           the workspace database or image store refused an operation
    │   ├── SchemaError      the database was written by a newer picobanana
    │   └── ReviewConflict   a curator's decision was based on a stale view
    ├── ImageError           a file is not a usable image (corrupt, hostile, absurd size)
    ├── InputError           a record or file cannot be imported (carries the line number)
    └── BackendError         a model call did not complete
        ├── RateLimited      429 / quota: slow the whole backend down (carries the service's retry hint)
        ├── Transient        5xx, timeouts, dropped connections: retry a bounded number of times
        └── Permanent        other 4xx, bad configuration: fail the attempt with the reason
"""

from __future__ import annotations


class PicobananaError(Exception):
    """Base class of every error picobanana raises on purpose."""


class ConfigError(PicobananaError):
    pass


class StoreError(PicobananaError):
    pass


class SchemaError(StoreError):
    pass


class ReviewConflict(StoreError):
    """Raised when a review was made against an outdated verdict (another curator got there first)."""


class ImageError(PicobananaError):
    pass


class InputError(PicobananaError):
    def __init__(self, reason: str, line_no: int | None = None):
        self.reason = reason
        self.line_no = line_no
        super().__init__(f"line {line_no}: {reason}" if line_no is not None else reason)


class BackendError(PicobananaError):
    retryable = False


class RateLimited(BackendError):
    retryable = True

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Transient(BackendError):
    retryable = True


class Permanent(BackendError):
    pass
