"""Deterministic keys and seeds: a resumed job must name and seed every piece of work exactly as before."""

from __future__ import annotations

import hashlib


def edit_key(job_id: int, source_id: int, edit_type_id: int) -> str:
    return f"job{job_id}:src{source_id}:t{edit_type_id}"


def chain_key(job_id: int, k: int) -> str:
    return f"job{job_id}:chain{k}"


def chain_edit_key(job_id: int, k: int, turn: int) -> str:
    return f"job{job_id}:chain{k}:turn{turn}"


def attempt_key(edit_key_: str, attempt_no: int) -> str:
    return f"{edit_key_}#a{attempt_no}"


def seed_for(*parts: object) -> int:
    """A stable 63-bit seed from any parts (Python's hash() is salted per process, so it cannot be used)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1
