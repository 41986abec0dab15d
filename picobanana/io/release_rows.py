"""Write a batch of parsed release records as domain rows (sources, edits, attempts, chains).

The mapping (agreed with the exporter, see DEVELOPERS.md / the issue's conventions):
- sft / preference line → edit `release:<output_ref>`; chosen attempt, same key, status ok; each rejected
  image i → attempt `release:<ref>`, attempt_no i, status rejected. The chosen attempt is numbered after the
  rejected ones (its `_retry<k>` suffix gives k+1; if that would collide, len(rejected)+1).
- multi-turn line → chain `release-mt:<final_ref>`; turn k → edit `release-mt:<final_ref>#<k>` whose parent
  is turn k−1's attempt, and one attempt `release:<turn ref>`.

Every key is unique in the database and every insert is INSERT OR IGNORE, so a record written twice adds
nothing. A record counts as a duplicate when none of its attempt (or chain) keys is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from picobanana.io.pico_format import attempt_number
from picobanana.io.release_lines import Record, ReleaseChain, ReleaseEdit
from picobanana.store.db import Store
from picobanana.store.writes import ensure_rows, ids_by_key, insert_new_rows

RELEASE = "release"
REJECTED_REASON = "rejected by the release judge"

SOURCE_COLUMNS = ("uri", "origin", "local_path")
CHAIN_COLUMNS = ("key", "source_id", "n_turns", "origin", "import_file_id", "import_line")
EDIT_COLUMNS = ("key", "source_id", "edit_type_id", "category_id", "origin", "turn", "parent_attempt_id",
                "chain_id")
ATTEMPT_COLUMNS = ("key", "edit_id", "attempt_no", "status", "origin", "edit_type_id", "category_id", "turn",
                   "instruction", "short_instruction", "output_ref", "failure_reason", "import_file_id",
                   "import_line")


def edit_key(output_ref: str) -> str:
    return "release:" + output_ref


def attempt_key(image_ref: str) -> str:
    return "release:" + image_ref


def chain_key(final_ref: str) -> str:
    return "release-mt:" + final_ref


@dataclass
class BatchCounts:
    """What a batch added, per kind: {kind: [imported, duplicates]}."""

    by_kind: dict[str, list[int]] = field(default_factory=dict)

    def add(self, kind: str, new: bool) -> None:
        counts = self.by_kind.setdefault(kind, [0, 0])
        counts[0 if new else 1] += 1

    @property
    def duplicates(self) -> int:
        return sum(d for _, d in self.by_kind.values())


def write_records(store: Store, records: Sequence[Record], rev: int, import_file_id: int | None, *,
                  precheck: bool = False) -> BatchCounts:
    """Write one batch inside the caller's transaction; returns imported/duplicate counts per kind.

    `precheck` first drops the records whose keys all exist (one indexed lookup per key): worth it when
    most records are duplicates (a re-read file), wasted work otherwise.
    """
    counts = BatchCounts()
    edits = [r for r in records if type(r) is ReleaseEdit]
    chains = [r for r in records if type(r) is ReleaseChain]
    if edits:
        if precheck:
            edits = _drop_known(store, edits, counts)
        _count(edits, _write_edits(store, edits, rev, import_file_id), counts)
    if chains:
        if precheck:
            chains = _drop_known(store, chains, counts)
        _count(chains, _write_chains(store, chains, rev, import_file_id), counts)
    return counts


def _keys_of(record: Record) -> list[str]:
    if type(record) is ReleaseEdit:
        return [attempt_key(record.output_ref), *map(attempt_key, record.rejected_refs)]
    return [chain_key(record.turn_refs[-1]), *map(attempt_key, record.turn_refs)]


def _count(records: list, new_keys: set[str], counts: BatchCounts) -> None:
    """A record is imported when it added a row first; later copies in the same batch are duplicates."""
    add = counts.add
    for record in records:
        if type(record) is ReleaseEdit and not record.rejected_refs:
            key = attempt_key(record.output_ref)  # the common case: one key
            new = key in new_keys
            if new:
                new_keys.discard(key)
        else:
            keys = _keys_of(record)
            new = any(k in new_keys for k in keys)
            if new:
                new_keys.difference_update(keys)
        add(record.kind, new)


def _drop_known(store: Store, records: list, counts: BatchCounts) -> list:
    keyed = [(r, _keys_of(r)) for r in records]
    known = set(ids_by_key(store, "attempts", "key", (k for _, keys in keyed for k in keys)))
    if type(records[0]) is ReleaseChain:
        known.update(ids_by_key(store, "chains", "key", (keys[0] for _, keys in keyed)))
    fresh = []
    for record, keys in keyed:
        if all(k in known for k in keys):
            counts.add(record.kind, False)
        else:
            fresh.append(record)
    return fresh


def _ensure_release_sources(store: Store, records: list, rev: int) -> dict[str, int]:
    rows = {r.source_url: (r.source_url, RELEASE, r.local_input) for r in records}
    # In uri order: neighbouring inserts into the uri index then touch neighbouring pages.
    ids = ensure_rows(store, "sources", SOURCE_COLUMNS, [rows[u] for u in sorted(rows)], rev, key="uri")
    with_local = [(r.local_input, rev, r.source_url) for r in records if r.local_input]
    if with_local:
        # The source may predate this file (another file named it without a local copy): record the path.
        store.conn.executemany("UPDATE sources SET local_path = ?, rev = ? "
                               "WHERE uri = ? AND local_path IS NULL AND image_sha256 IS NULL", with_local)
    return ids


def _write_edits(store: Store, records: list[ReleaseEdit], rev: int, import_file_id: int | None) -> set[str]:
    """Returns the keys of the attempts inserted."""
    if not records:
        return set()
    source_ids = _ensure_release_sources(store, records, rev)
    edit_ids = ensure_rows(store, "edits", EDIT_COLUMNS, [
        (edit_key(r.output_ref), source_ids[r.source_url], r.edit_type.id, r.edit_type.category.id, RELEASE,
         1, None, None) for r in records], rev)
    chosen, rejected, renumber = [], [], []
    for r in records:
        key, type_id, category_id = attempt_key(r.output_ref), r.edit_type.id, r.edit_type.category.id
        edit_id = edit_ids[key]  # the edit and its chosen attempt share the key
        number = attempt_number(r.output_ref) if "_retry" in r.output_ref else 1
        if r.rejected_refs:
            if number <= len(r.rejected_refs):
                number = len(r.rejected_refs) + 1
                renumber.append((number, rev, key, number))
            rejected.extend((attempt_key(ref), edit_id, i, "rejected", RELEASE, type_id, category_id, 1,
                             r.instruction, r.short_instruction, ref, REJECTED_REASON, import_file_id,
                             r.line_no) for i, ref in enumerate(r.rejected_refs, 1))
        chosen.append((key, edit_id, number, "ok", RELEASE, type_id, category_id, 1, r.instruction,
                       r.short_instruction, r.output_ref, None, import_file_id, r.line_no))
    new_keys = set(insert_new_rows(store, "attempts", ATTEMPT_COLUMNS, chosen, rev))
    if renumber:
        # The chosen attempt may already exist with a lower number (an sft line named it `_retry1` while this
        # preference line has 2 rejected attempts): move it after the rejected ones so none is lost.
        store.conn.executemany("UPDATE OR IGNORE attempts SET attempt_no = ?, rev = ? "
                               "WHERE key = ? AND attempt_no < ?", renumber)
    new_keys.update(insert_new_rows(store, "attempts", ATTEMPT_COLUMNS, rejected, rev))
    return new_keys


def _write_chains(store: Store, records: list[ReleaseChain], rev: int,
                  import_file_id: int | None) -> set[str]:
    """Returns the keys of the chains and attempts inserted."""
    if not records:
        return set()
    source_ids = _ensure_release_sources(store, records, rev)
    new_chains = insert_new_rows(store, "chains", CHAIN_COLUMNS, [
        (chain_key(r.turn_refs[-1]), source_ids[r.source_url], len(r.prompts), RELEASE, import_file_id,
         r.line_no) for r in records], rev)
    chain_ids = dict(new_chains)
    missing = [chain_key(r.turn_refs[-1]) for r in records if chain_key(r.turn_refs[-1]) not in chain_ids]
    chain_ids.update(ids_by_key(store, "chains", "key", missing))
    new_keys = set(new_chains)
    # Turn by turn across the batch: turn k's edit needs the id of turn k−1's attempt.
    parents: list[int | None] = [None] * len(records)
    for turn in range(1, max(len(r.prompts) for r in records) + 1):
        active = [i for i, r in enumerate(records) if len(r.prompts) >= turn]
        edit_keys = {i: f"{chain_key(records[i].turn_refs[-1])}#{turn}" for i in active}
        edit_ids = ensure_rows(store, "edits", EDIT_COLUMNS, [
            (edit_keys[i], source_ids[records[i].source_url], None, None, RELEASE, turn, parents[i],
             chain_ids[chain_key(records[i].turn_refs[-1])]) for i in active], rev)
        attempts = []
        for i in active:
            r, ref = records[i], records[i].turn_refs[turn - 1]
            attempts.append((attempt_key(ref), edit_ids[edit_keys[i]], 1, "ok", RELEASE, None, None, turn,
                             None, r.prompts[turn - 1], ref, None, import_file_id, r.line_no))
        attempt_ids = insert_new_rows(store, "attempts", ATTEMPT_COLUMNS, attempts, rev)
        new_keys.update(attempt_ids)
        if len(attempt_ids) < len(attempts):
            attempt_ids.update(ids_by_key(store, "attempts", "key",
                                          (a[0] for a in attempts if a[0] not in attempt_ids)))
        for i in active:
            parents[i] = attempt_ids[attempt_key(records[i].turn_refs[turn - 1])]
    return new_keys
