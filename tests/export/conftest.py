"""Export test fixtures: put release records into a workspace and small real images into its store.

`import_release(store, path)` uses the real importer when it is importable; otherwise a minimal writer below
inserts the records through store/writes.py with the agreed release conventions (common.md), so the exporter
can be tested on its own.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from picobanana.io.pico_format import (
    MultiTurnRecord,
    PreferenceRecord,
    SftRecord,
    attempt_number,
    detect_kind,
    normalise_ref,
)
from picobanana.store.db import utc_now
from picobanana.store.writes import (
    NewAttempt,
    NewChain,
    NewEdit,
    NewSource,
    ensure_chains,
    ensure_edits,
    ensure_sources,
    ids_by_key,
    insert_attempts,
)
from picobanana.taxonomy import resolve_edit_type


def _source(store, uri: str, rev: int, **extra) -> int:
    origin = extra.pop("origin", "release")
    return ensure_sources(store, [NewSource(uri=uri, origin=origin, **extra)], rev)[uri]


def _edit(store, edit: NewEdit, rev: int) -> int:
    return ensure_edits(store, [edit], rev)[edit.key]


def _attempt_id(store, key: str) -> int:
    return ids_by_key(store, "attempts", "key", [key])[key]


def _write_edit(store, record: SftRecord | PreferenceRecord, rev: int, provenance: dict) -> None:
    source_id = _source(store, record.open_image_input_url, rev)
    edit_type, _ = resolve_edit_type(record.edit_type)
    ref = normalise_ref(record.output_image)
    edit_id = _edit(store, NewEdit(key="release:" + ref, source_id=source_id, edit_type_id=edit_type.id,
                                   category_id=edit_type.category.id, origin="release"), rev)
    rejected = [normalise_ref(p) for p in getattr(record, "rejected_images", [])]
    chosen_no = attempt_number(ref)
    if chosen_no <= len(rejected):
        chosen_no = len(rejected) + 1
    common = {"edit_id": edit_id, "origin": "release", "edit_type_id": edit_type.id,
              "category_id": edit_type.category.id, "instruction": record.text,
              "short_instruction": record.summarized_text, **provenance}
    attempts = [NewAttempt(key="release:" + r, attempt_no=i + 1, status="rejected", output_ref=r,
                           failure_reason="rejected by the release judge", **common)
                for i, r in enumerate(rejected)]
    attempts.append(NewAttempt(key="release:" + ref, attempt_no=chosen_no, status="ok", output_ref=ref,
                               **common))
    insert_attempts(store, attempts, rev)


def _write_chain(store, record: MultiTurnRecord, rev: int, provenance: dict) -> None:
    source_id = _source(store, record.source_url, rev)
    turns = [normalise_ref(p) for p in record.turn_images()]
    final = turns[-1]
    chain = NewChain(key="release-mt:" + final, source_id=source_id, n_turns=len(turns), origin="release")
    chain_id = ensure_chains(store, [chain], rev)[chain.key]
    parent = None
    for k, (ref, prompt) in enumerate(zip(turns, record.metadata_edit_turn_prompts, strict=True), start=1):
        edit_id = _edit(store, NewEdit(key=f"release-mt:{final}#{k}", source_id=source_id, edit_type_id=None,
                                       category_id=None, origin="release", turn=k, parent_attempt_id=parent,
                                       chain_id=chain_id), rev)
        insert_attempts(store, [NewAttempt(key="release:" + ref, edit_id=edit_id, attempt_no=1, status="ok",
                                           origin="release", turn=k, short_instruction=prompt, output_ref=ref,
                                           **provenance)], rev)
        parent = _attempt_id(store, "release:" + ref)


def minimal_import(store, path: Path) -> None:
    path = Path(path).resolve()
    data = path.read_bytes()
    kinds = set()
    with store.transaction() as rev:
        now = utc_now()
        file_id = store.conn.execute(
            "INSERT INTO import_files (path, fingerprint, size, status, started_at, finished_at) "
            "VALUES (?, ?, ?, 'done', ?, ?) RETURNING id",
            (str(path), hashlib.sha256(data).hexdigest(), len(data), now, now)).fetchone()[0]
        for line_no, line in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            obj = json.loads(line)
            kind = detect_kind(obj)
            kinds.add(kind)
            provenance = {"import_file_id": file_id, "import_line": line_no}
            if kind == "multi-turn":
                _write_chain(store, MultiTurnRecord.model_validate(obj), rev, provenance)
            else:
                model = PreferenceRecord if kind == "preference" else SftRecord
                _write_edit(store, model.model_validate(obj), rev, provenance)
        if len(kinds) == 1:
            store.conn.execute("UPDATE import_files SET kind = ? WHERE id = ?", (kinds.pop(), file_id))


def _real_importer():
    try:
        from picobanana.io.importer import import_file
    except ImportError:
        return None
    return import_file


@pytest.fixture
def import_release():
    """Import a release-format file into a store: the real importer if present, else the minimal writer."""
    real = _real_importer()

    def run(store, path: Path) -> None:
        if real is not None:
            real(store, path)
        else:
            minimal_import(store, path)

    return run


@pytest.fixture
def release_store(store, pico_fixtures, import_release):
    """A workspace holding every fixture record: 23 sft, 3 preference, 1 multi-turn."""
    for name in ("sft-sample.jsonl", "preference-sample.jsonl", "multi-turn-sample.jsonl"):
        import_release(store, pico_fixtures / name)
    return store


def png_bytes(seed: int, size: tuple[int, int] = (24, 16)) -> bytes:
    """A small, distinct, real PNG."""
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    image.putpixel((seed % size[0], 0), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int, size: tuple[int, int] = (32, 24)) -> bytes:
    image = Image.new("RGB", size, ((seed * 11) % 256, (seed * 23) % 256, (seed * 71) % 256))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def attach_png():
    """Give an attempt (by key) a real stored PNG; returns the image's sha256."""

    def run(store, attempt_key: str, seed: int) -> str:
        with store.transaction() as rev:
            stored = store.images.put_bytes(png_bytes(seed), thumbnail=False)
            store.conn.execute("UPDATE attempts SET output_sha256 = ?, rev = ? WHERE key = ?",
                               (stored.sha256, rev, attempt_key))
        return stored.sha256

    return run


def _put_output(store, seed: int | None) -> str | None:
    return None if seed is None else store.images.put_bytes(png_bytes(seed), thumbnail=False).sha256


@pytest.fixture
def make_edit():
    """A pipeline-made edit: `attempts` is a list of (status, subscores or None, png seed or None).

    Returns (edit_id, [attempt ids]). Subscores create a judgment; a seed stores a real PNG as the output.
    """
    from picobanana.store.writes import NewJudgment, record_judgments
    from picobanana.taxonomy import edit_type_by_id

    def run(store, source_uri: str, attempts, *, edit_type_id: int = 4, source_seed: int | None = None,
            instruction: str = "Remove the red car",
            short_instruction: str | None = "remove the car") -> tuple[int, list[int]]:
        category_id = edit_type_by_id(edit_type_id).category.id
        with store.transaction() as rev:
            source_sha = (None if source_seed is None
                          else store.images.put_bytes(jpeg_bytes(source_seed), thumbnail=False).sha256)
            source_id = _source(store, source_uri, rev, origin="ingest", image_sha256=source_sha)
            key = f"pipeline:{source_uri}:{edit_type_id}"
            edit_id = _edit(store, NewEdit(key=key, source_id=source_id, edit_type_id=edit_type_id,
                                           category_id=category_id, origin="pipeline"), rev)
            rows = [NewAttempt(key=f"{key}#{no}", edit_id=edit_id, attempt_no=no, status=status,
                               origin="pipeline", edit_type_id=edit_type_id, category_id=category_id,
                               instruction=instruction, short_instruction=short_instruction,
                               output_sha256=_put_output(store, seed), backend="fake", model="fake-editor",
                               model_version="1")
                    for no, (status, _, seed) in enumerate(attempts, start=1)]
            insert_attempts(store, rows, rev)
            attempt_ids = [_attempt_id(store, r.key) for r in rows]
            record_judgments(store, [
                NewJudgment(attempt_id=aid, compliance=s[0], seamlessness=s[1], preservation=s[2],
                            quality=s[3], judge_model="fake-judge")
                for aid, (_, s, _) in zip(attempt_ids, attempts, strict=True) if s is not None], rev)
        return edit_id, attempt_ids

    return run


@pytest.fixture
def make_chain():
    """A pipeline-made multi-turn chain: `turns` is a list of (prompt, png seed or None, status)."""

    def run(store, source_uri: str, turns, *, key: str = "pipeline-chain") -> int:
        with store.transaction() as rev:
            source_id = _source(store, source_uri, rev, origin="ingest")
            chain = NewChain(key=key, source_id=source_id, n_turns=len(turns), origin="pipeline")
            chain_id = ensure_chains(store, [chain], rev)[key]
            parent = None
            for k, (prompt, seed, status) in enumerate(turns, start=1):
                edit_id = _edit(store, NewEdit(key=f"{key}#{k}", source_id=source_id, edit_type_id=None,
                                               category_id=None, origin="pipeline", turn=k,
                                               parent_attempt_id=parent, chain_id=chain_id), rev)
                attempt = NewAttempt(key=f"{key}#{k}#1", edit_id=edit_id, attempt_no=1, status=status,
                                     origin="pipeline", turn=k, short_instruction=prompt,
                                     output_sha256=_put_output(store, seed))
                insert_attempts(store, [attempt], rev)
                parent = _attempt_id(store, attempt.key)
        return chain_id

    return run


@pytest.fixture
def bulk_sft():
    """n release-style sft records over n_sources source URLs (record i uses source i mod n_sources)."""

    def run(store, n: int, n_sources: int) -> None:
        from picobanana.taxonomy import EDIT_TYPES

        with store.transaction() as rev:
            uris = [f"https://farm1.staticflickr.com/{i}/{i}_abc_o.jpg" for i in range(n_sources)]
            source_ids = ensure_sources(store, [NewSource(uri=u, origin="release") for u in uris], rev)
            edits = []
            for i in range(n):
                edit_type = EDIT_TYPES[i % len(EDIT_TYPES)]
                edits.append(NewEdit(key=f"release:images/positive-edit/{i + 1}.png",
                                     source_id=source_ids[uris[i % n_sources]], edit_type_id=edit_type.id,
                                     category_id=edit_type.category.id, origin="release"))
            edit_ids = ensure_edits(store, edits, rev)
            insert_attempts(store, [
                NewAttempt(key=e.key, edit_id=edit_ids[e.key], attempt_no=1, status="ok", origin="release",
                           edit_type_id=e.edit_type_id, category_id=e.category_id,
                           instruction=f"long instruction {i}", short_instruction=f"short {i}",
                           output_ref=e.key[len("release:"):])
                for i, e in enumerate(edits)], rev)

    return run


@pytest.fixture
def read_jsonl():
    def run(path: Path) -> list[dict]:
        return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]

    return run
