"""Which attempts, edits and chains form each exported kind, under a policy, with human decisions applied.

Each selector is one SQL query over the store, iterated in order and yielded item by item (flat memory).
The verdict is never re-implemented here: every query filters on `effective_verdict_sql(policy, ...)` from
store/verdicts.py, so a human decision always wins and a policy change only moves judged attempts.

- sft:        kept (effective 'keep') attempts of turn-1 edits that belong to no chain, one line per attempt;
- preference: per such edit, its first kept attempt plus every failed attempt with a lower attempt number
              (pending attempts are neither side); edits with no failed attempt before the kept one are
              skipped;
- multi-turn: chains whose every turn has a kept attempt, each turn continuing from the previous turn's
              choice.

Only attempts that have an image (a release path or a stored file) can be exported.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from picobanana.store.db import Store
from picobanana.store.policies import Policy
from picobanana.store.verdicts import effective_verdict_sql, verdict_source_sql

_HAS_IMAGE = "(a.output_ref IS NOT NULL OR a.output_sha256 IS NOT NULL)"
_JOIN_VERDICT = ("LEFT JOIN judgments j ON j.attempt_id = a.id "
                 "LEFT JOIN human_decisions h ON h.attempt_id = a.id")
_JOIN_IMAGES = ("LEFT JOIN images oi ON oi.sha256 = a.output_sha256 "
                "LEFT JOIN images si ON si.sha256 = s.image_sha256")


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    uri: str
    image_sha256: str | None
    image_format: str | None  # set only when the store has the file


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    edit_id: int
    attempt_no: int
    origin: str
    status: str
    output_ref: str | None
    output_sha256: str | None
    output_format: str | None  # set only when the store has the file
    instruction: str | None
    short_instruction: str | None
    edit_type_id: int | None
    category_id: int | None
    backend: str | None
    model: str | None
    model_version: str | None
    score: float | None
    compliance: float | None
    seamlessness: float | None
    preservation: float | None
    quality: float | None
    judge_model: str | None
    import_file_id: int | None
    verdict_source: str


@dataclass(frozen=True, slots=True)
class SftItem:
    attempt: Attempt
    source: Source


@dataclass(frozen=True, slots=True)
class PreferenceItem:
    chosen: Attempt
    rejected: tuple[Attempt, ...]  # in attempt order
    source: Source


@dataclass(frozen=True, slots=True)
class ChainItem:
    chain_id: int
    turns: tuple[Attempt, ...]  # the kept attempt of turn 1..N
    source: Source


_N_ATTEMPT = len(Attempt.__slots__)


def _attempt_columns(policy: Policy) -> str:
    score = policy.score_sql("j", category="j.category_id")
    return (
        "a.id, a.edit_id, a.attempt_no, a.origin, a.status, a.output_ref, a.output_sha256, oi.format, "
        "a.instruction, a.short_instruction, a.edit_type_id, a.category_id, a.backend, a.model, "
        f"a.model_version, CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {score} END, "
        "j.compliance, j.seamlessness, j.preservation, j.quality, j.judge_model, a.import_file_id, "
        f"{verdict_source_sql('a', 'j', 'h')}"
    )


_SOURCE_COLUMNS = "s.id, s.uri, s.image_sha256, si.format"


def _split_row(row: tuple, offset: int = 0) -> tuple[Attempt, Source]:
    attempt = Attempt(*row[offset:offset + _N_ATTEMPT])
    source = Source(*row[offset + _N_ATTEMPT:offset + _N_ATTEMPT + 4])
    return attempt, source


def _cursor(store: Store, sql: str):
    # A plain tuple row factory: sqlite3.Row costs ~30% more per row on the 258K-row hot path.
    cursor = store.conn.cursor()
    cursor.row_factory = None
    cursor.arraysize = 2000
    return cursor.execute(sql)


def _rows(cursor) -> Iterator[tuple]:
    while rows := cursor.fetchmany():
        yield from rows


def sft_sql(policy: Policy) -> str:
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    return (
        f"SELECT {_attempt_columns(policy)}, {_SOURCE_COLUMNS} "
        "FROM attempts a JOIN edits e ON e.id = a.edit_id JOIN sources s ON s.id = e.source_id "
        f"{_JOIN_VERDICT} {_JOIN_IMAGES} "
        f"WHERE a.turn = 1 AND e.chain_id IS NULL AND {_HAS_IMAGE} AND {verdict} = 'keep' "
        "ORDER BY a.id"
    )


def select_sft(store: Store, policy: Policy) -> Iterator[SftItem]:
    for row in _rows(_cursor(store, sft_sql(policy))):
        attempt, source = _split_row(row)
        yield SftItem(attempt, source)


def preference_sql(policy: Policy) -> str:
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    return (
        "WITH v AS ("
        f"  SELECT a.id AS attempt_id, a.edit_id, a.attempt_no, {verdict} AS verdict "
        f"  FROM attempts a JOIN edits e ON e.id = a.edit_id {_JOIN_VERDICT} "
        f"  WHERE a.turn = 1 AND e.chain_id IS NULL AND {_HAS_IMAGE} "
        # A preference pair needs two attempts: skip the (many) single-attempt edits cheaply.
        "   AND a.edit_id IN (SELECT edit_id FROM attempts GROUP BY edit_id HAVING COUNT(*) > 1)"
        "), chosen AS ("
        "  SELECT edit_id, MIN(attempt_no) AS kept_no FROM v WHERE verdict = 'keep' GROUP BY edit_id"
        "), paired AS ("
        "  SELECT v.attempt_id FROM chosen c JOIN v ON v.edit_id = c.edit_id "
        "  AND (v.attempt_no = c.kept_no OR (v.verdict = 'fail' AND v.attempt_no < c.kept_no))"
        ") "
        f"SELECT {_attempt_columns(policy)}, {_SOURCE_COLUMNS} "
        "FROM paired p JOIN attempts a ON a.id = p.attempt_id JOIN edits e ON e.id = a.edit_id "
        f"JOIN sources s ON s.id = e.source_id {_JOIN_VERDICT} {_JOIN_IMAGES} "
        "ORDER BY a.edit_id, a.attempt_no"
    )


def select_preference(store: Store, policy: Policy) -> Iterator[PreferenceItem]:
    rows = (_split_row(row) for row in _rows(_cursor(store, preference_sql(policy))))
    for _, group in itertools.groupby(rows, key=lambda pair: pair[0].edit_id):
        attempts = list(group)
        # The query returns the failed attempts first, then the kept one (highest attempt_no).
        (chosen, source), rejected = attempts[-1], tuple(a for a, _ in attempts[:-1])
        if rejected:
            yield PreferenceItem(chosen, rejected, source)


def multi_turn_sql(policy: Policy) -> str:
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    return (
        f"SELECT c.id, c.n_turns, e.turn, e.parent_attempt_id, {_attempt_columns(policy)}, {_SOURCE_COLUMNS} "
        "FROM chains c JOIN sources s ON s.id = c.source_id JOIN edits e ON e.chain_id = c.id "
        f"JOIN attempts a ON a.edit_id = e.id {_JOIN_VERDICT} {_JOIN_IMAGES} "
        f"WHERE {_HAS_IMAGE} AND {verdict} = 'keep' "
        "ORDER BY c.id, e.turn, a.attempt_no, a.id"
    )


def select_multi_turn(store: Store, policy: Policy) -> Iterator[ChainItem]:
    rows = _rows(_cursor(store, multi_turn_sql(policy)))
    for chain_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        kept: dict[int, list[tuple[int | None, Attempt]]] = {}
        n_turns, source = 0, None
        for row in group:
            n_turns = row[1]
            attempt, source = _split_row(row, offset=4)
            kept.setdefault(row[2], []).append((row[3], attempt))
        turns: list[Attempt] = []
        for turn in range(1, n_turns + 1):
            # Turn k must continue from the attempt chosen at turn k-1 (its parent), not from a sibling.
            parent = turns[-1].id if turns else None
            choice = next((a for p, a in kept.get(turn, ()) if turn == 1 or p == parent), None)
            if choice is None:
                break
            turns.append(choice)
        if source is not None and len(turns) == n_turns:
            yield ChainItem(chain_id, tuple(turns), source)


@dataclass(frozen=True, slots=True)
class HumanDecisionCounts:
    total: int = 0       # attempts with a human decision
    keep: int = 0
    fail: int = 0
    overrides: int = 0   # decisions that differ from what the judge / release / status alone would say


def human_decision_counts(store: Store, policy: Policy) -> HumanDecisionCounts:
    # `nh` never matches, so the same verdict builder yields the verdict without any human decision.
    automatic = effective_verdict_sql(policy, "a", "j", "nh")
    row = store.conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(h.verdict = 'keep'), 0), COALESCE(SUM(h.verdict = 'fail'), 0), "
        f"COALESCE(SUM(h.verdict <> {automatic}), 0) "
        "FROM human_decisions h JOIN attempts a ON a.id = h.attempt_id "
        "LEFT JOIN judgments j ON j.attempt_id = a.id "
        "LEFT JOIN (SELECT NULL AS verdict) nh ON 0"
    ).fetchone()
    return HumanDecisionCounts(*(int(v) for v in row))
