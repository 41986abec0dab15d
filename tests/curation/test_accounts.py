"""Curator accounts: salted scrypt hashes in the store, constant-time checks, disable / remove."""

from __future__ import annotations

import pytest

from picobanana.curation.accounts import (
    AccountError,
    active_curator_count,
    add_curator,
    authenticate,
    get_curator,
    hash_password,
    list_curators,
    remove_curator,
    set_disabled,
    set_password,
    verify_password,
)


def test_a_curator_logs_in_with_the_right_password_only(store):
    add_curator(store, "alice", "correct horse")
    assert authenticate(store, "alice", "correct horse")
    assert not authenticate(store, "alice", "correct horsE")
    assert not authenticate(store, "alice", "")
    assert not authenticate(store, "nobody", "correct horse")


def test_only_a_salted_hash_is_stored(store):
    add_curator(store, "alice", "same password")
    add_curator(store, "bob", "same password")
    hashes = [r[0] for r in store.query("SELECT password_hash FROM curators ORDER BY name")]
    assert all("same password" not in h for h in hashes)
    assert hashes[0] != hashes[1]  # a random salt per account
    scheme, n, r, p, salt, digest = hashes[0].split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 5)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert "same password" not in (store.workspace / "picobanana.sqlite").read_bytes().decode("latin-1")


def test_hash_round_trip_and_malformed_hashes_never_match():
    encoded = hash_password("pässwörd 🍌")
    assert verify_password("pässwörd 🍌", encoded)
    assert not verify_password("passwörd 🍌", encoded)
    for broken in ("", "plain", "md5$1$2$3$00$00", encoded.replace("scrypt", "bcrypt"), encoded[:-2] + "zz"):
        assert not verify_password("pässwörd 🍌", broken)


def test_form_input_of_any_shape_is_refused_without_raising(store):
    add_curator(store, "alice", "correct horse")
    assert not authenticate(store, None, "correct horse")  # type: ignore[arg-type]
    assert not authenticate(store, "alice", None)  # type: ignore[arg-type]
    assert not authenticate(store, "alice", "x" * 100_000)
    assert not authenticate(store, "alice' OR '1'='1", "correct horse")


@pytest.mark.parametrize("name", ["", " alice", "al ice", "-alice", "a" * 65, "alice\n", "al/ice", "<b>x</b>"])
def test_bad_names_are_refused(store, name):
    with pytest.raises(AccountError, match="invalid curator name"):
        add_curator(store, name, "long enough")


def test_weak_and_duplicate_accounts_are_refused(store):
    with pytest.raises(AccountError, match="too short"):
        add_curator(store, "alice", "short")
    add_curator(store, "alice", "long enough")
    with pytest.raises(AccountError, match="already exists"):
        add_curator(store, "alice", "another one")
    assert [c.name for c in list_curators(store)] == ["alice"]


def test_disabled_curators_cannot_log_in_until_enabled(store):
    add_curator(store, "alice", "correct horse")
    add_curator(store, "bob", "battery staple")
    assert active_curator_count(store) == 2
    assert set_disabled(store, "alice").disabled
    assert not authenticate(store, "alice", "correct horse")
    assert active_curator_count(store) == 1
    set_disabled(store, "alice", False)
    assert authenticate(store, "alice", "correct horse")


def test_a_new_password_replaces_the_old_one(store):
    before = add_curator(store, "alice", "correct horse")
    after = set_password(store, "alice", "battery staple")
    assert not authenticate(store, "alice", "correct horse")
    assert authenticate(store, "alice", "battery staple")
    assert after.password_changed_at >= before.password_changed_at
    with pytest.raises(AccountError, match="too short"):
        set_password(store, "alice", "short")


def test_remove_frees_the_name_and_unknown_names_are_clear_errors(store):
    add_curator(store, "alice", "correct horse")
    remove_curator(store, "alice")
    assert get_curator(store, "alice") is None and not authenticate(store, "alice", "correct horse")
    for operation in (lambda: remove_curator(store, "alice"), lambda: set_disabled(store, "alice"),
                      lambda: set_password(store, "alice", "long enough")):
        with pytest.raises(AccountError, match="no curator named 'alice'"):
            operation()


def test_account_writes_carry_the_store_revision(store):
    add_curator(store, "alice", "correct horse")
    first = store.scalar("SELECT rev FROM curators WHERE name = 'alice'")
    set_disabled(store, "alice")
    assert store.scalar("SELECT rev FROM curators WHERE name = 'alice'") == store.revision > first
