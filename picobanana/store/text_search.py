"""Text search over instructions: the FTS5 index `attempts_text` (schema migration m005).

New attempts are not indexed on insert (that would cost imports a third of their speed): the next search
catches up from meta 'attempts_text_upto', the highest attempt id indexed (ids only grow).
"""

from __future__ import annotations

from picobanana.store.db import Store


def fts_query(text: str) -> str | None:
    """User words → an FTS5 query: every word must occur, each as a prefix ("warm" finds "warmer").

    Each word is quoted, so FTS5 operators and punctuation typed by a curator are plain text.
    """
    words = [w for w in text.replace('"', " ").split() if any(ch.isalnum() for ch in w)]
    return " ".join(f'"{w}"*' for w in words) or None


def sync_instruction_index(store: Store, chunk: int = 50_000) -> int:
    """Index the instructions of attempts added since the last search (see schema m005); returns how many
    attempt ids were covered. One indexed MAX() when nothing is new; after a big import the first search pays
    once (about 25 µs per attempt), `chunk` ids per transaction."""
    done = 0
    upto_sql = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'attempts_text_upto'"
    while (store.scalar("SELECT MAX(id) FROM attempts") or 0) > (store.scalar(upto_sql) or 0):
        with store.transaction():
            upto = int(store.scalar(upto_sql) or 0)  # again, under the write lock: another thread may have run
            end = min(int(store.scalar("SELECT MAX(id) FROM attempts") or 0), upto + chunk)
            store.conn.execute(
                "INSERT INTO attempts_text (rowid, instruction, short_instruction) "
                "SELECT id, instruction, short_instruction FROM attempts WHERE id > ? AND id <= ? "
                "AND (instruction IS NOT NULL OR short_instruction IS NOT NULL)", (upto, end))
            store.conn.execute("UPDATE meta SET value = ? WHERE key = 'attempts_text_upto'", (str(end),))
            done += max(0, end - upto)
    return done
