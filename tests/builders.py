"""Small builders for store tests: real rows through the real write path."""

from __future__ import annotations

from picobanana.store.writes import (
    NewAttempt,
    NewEdit,
    NewJudgment,
    NewSource,
    ensure_edits,
    ensure_sources,
    insert_attempts,
    record_judgments,
)
from picobanana.taxonomy import edit_type_by_id


def add_attempt(store, key: str, *, edit_type_id: int = 1, status: str = "ok", origin: str = "pipeline",
                scores: tuple[float, float, float, float] | None = None, attempt_no: int = 1,
                edit_key: str | None = None, source: str = "src") -> int:
    category_id = edit_type_by_id(edit_type_id).category.id
    with store.transaction() as rev:
        source_id = ensure_sources(store, [NewSource(uri=source, origin="ingest")], rev)[source]
        edit_key = edit_key or f"edit-{key}"
        edit_id = ensure_edits(store, [NewEdit(key=edit_key, source_id=source_id, edit_type_id=edit_type_id,
                                               category_id=category_id, origin=origin)], rev)[edit_key]
        insert_attempts(store, [NewAttempt(key=key, edit_id=edit_id, attempt_no=attempt_no, status=status,
                                           origin=origin, edit_type_id=edit_type_id, category_id=category_id)],
                        rev)
        attempt_id = store.scalar("SELECT id FROM attempts WHERE key = ?", (key,))
        if scores is not None:
            record_judgments(store, [NewJudgment(attempt_id, *scores)], rev)
    return attempt_id
