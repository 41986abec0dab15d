"""Curator accounts: who may log in to the studio, and whose name goes on every decision.

Only a salted hash of each password is stored, in the workspace's `curators` table, as
`scrypt$N$r$p$<salt hex>$<hash hex>`: a fresh 16-byte random salt per password, and scrypt's cost parameters
kept in the string so that they can be raised later without invalidating existing hashes. Passwords are
compared in constant time, and an unknown or disabled name costs as much as a wrong password (no timing hint
about which names exist).

A disabled account keeps its row: reviews, policies and jobs name their curator as text, and the name must not
be reissued to someone else while it still means the old curator in the audit log. `remove_curator` deletes
the row for the cases where that is wanted (a typo at creation).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets

from pydantic import BaseModel

from picobanana.errors import StoreError
from picobanana.store.db import Store, utc_now

# OWASP's scrypt minimum "N=2^14, r=8, p=5": ~16 MiB and ~0.2 s per check on the reference machine.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
SALT_BYTES, HASH_BYTES = 16, 32
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # bounds the work a login form can ask of the server
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class AccountError(StoreError):
    """An account operation was refused (bad name, weak password, unknown or duplicate account)."""


class Curator(BaseModel):
    name: str
    created_at: str
    password_changed_at: str
    disabled: bool


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name or ""):
        raise AccountError(f"invalid curator name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    return name


def check_password_strength(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"password too long: at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES,
                          maxmem=256 * 1024 * 1024)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches the stored hash; constant-time comparison of the digests."""
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        found = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except ValueError:  # a malformed stored hash never matches
        return False
    return hmac.compare_digest(found, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the name is unknown or disabled, so that a miss takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def _row(row) -> Curator:
    return Curator(name=row["name"], created_at=row["created_at"], password_changed_at=row["password_changed_at"],
                   disabled=bool(row["disabled"]))


def get_curator(store: Store, name: str) -> Curator | None:
    row = store.conn.execute("SELECT * FROM curators WHERE name = ?", (name,)).fetchone()
    return None if row is None else _row(row)


def require_curator(store: Store, name: str) -> Curator:
    """The account NAME, or AccountError naming the command that lists accounts."""
    found = get_curator(store, name)
    if found is None:
        raise AccountError(f"no curator named {name!r} (see picobanana user list)")
    return found


def list_curators(store: Store) -> list[Curator]:
    return [_row(r) for r in store.query("SELECT * FROM curators ORDER BY name")]


def is_active(store: Store, name: str) -> bool:
    """True while account NAME exists and is not disabled (the studio ends the sessions of the others)."""
    return store.scalar("SELECT 1 FROM curators WHERE name = ? AND disabled = 0", (name,)) is not None


def active_curator_count(store: Store) -> int:
    return int(store.scalar("SELECT COUNT(*) FROM curators WHERE disabled = 0") or 0)


def add_curator(store: Store, name: str, password: str) -> Curator:
    check_name(name)
    check_password_strength(password)
    encoded = hash_password(password)  # outside the transaction: the write lock is not held while hashing
    with store.transaction() as rev:
        if get_curator(store, name) is not None:
            raise AccountError(f"curator {name!r} already exists (picobanana user passwd {name} to change the "
                               "password)")
        now = utc_now()
        store.conn.execute("INSERT INTO curators (name, password_hash, created_at, password_changed_at, disabled, "
                           "rev) VALUES (?, ?, ?, ?, 0, ?)", (name, encoded, now, now, rev))
    return require_curator(store, name)


def set_password(store: Store, name: str, password: str) -> Curator:
    check_password_strength(password)
    require_curator(store, name)
    encoded = hash_password(password)
    with store.transaction() as rev:
        store.conn.execute("UPDATE curators SET password_hash = ?, password_changed_at = ?, rev = ? WHERE name = ?",
                           (encoded, utc_now(), rev, name))
    return require_curator(store, name)


def set_disabled(store: Store, name: str, disabled: bool = True) -> Curator:
    """Disable (or re-enable) an account: a disabled curator cannot log in; their past events keep the name."""
    require_curator(store, name)
    with store.transaction() as rev:
        store.conn.execute("UPDATE curators SET disabled = ?, rev = ? WHERE name = ?", (int(disabled), rev, name))
    return require_curator(store, name)


def remove_curator(store: Store, name: str) -> None:
    require_curator(store, name)
    with store.transaction():
        store.conn.execute("DELETE FROM curators WHERE name = ?", (name,))


def authenticate(store: Store, name: str, password: str) -> bool:
    """True only for an enabled account with this password. Never raises on bad input (it comes from a form)."""
    if not isinstance(name, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    row = store.conn.execute("SELECT password_hash, disabled FROM curators WHERE name = ?", (name,)).fetchone()
    if row is None or row["disabled"]:
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, row["password_hash"])
