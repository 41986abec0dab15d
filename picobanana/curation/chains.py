"""Browsing multi-turn chains: a keyset-paged list, and one chain turn by turn with per-turn verdicts.

    page = chains_page(store, ChainFilter(passing=False))           # newest first, 20 per page
    page = chains_page(store, ChainFilter(passing=False), after=page.next_cursor)
    detail = chain_detail(store, chain_id)                           # turns, attempts, images, verdicts

(The pipeline's `picobanana/pipeline/chains.py` builds chains; this module only reads them.)

A chain passes when every one of its `n_turns` turns has a kept attempt that continues from the attempt chosen
at the turn before (its edit's parent) — the rule the multi-turn export applies (io/export/selection.py), so a
chain shown as passing here is exactly a chain that is exported. Turn 1's input is the source photo; turn k's is
the output of its edit's parent attempt. Verdicts are the effective ones (human decision, else the active policy,
else the attempt's own status), from the one definition in store/verdicts.py.
"""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from picobanana.errors import StoreError
from picobanana.store.db import Store
from picobanana.store.policies import Policy, active_policy
from picobanana.store.verdicts import effective_verdict_sql, verdict_source_sql
from picobanana.taxonomy import edit_type_by_id

TurnVerdict = Literal["keep", "fail", "pending", "skipped", "missing"]
SCAN_BATCH = 200  # chains read per query while filling a filtered page
SCAN_LIMIT = 2_000  # chains examined for one filtered page at most (~0.35 s); the cursor continues there


class ChainFilter(BaseModel):
    model_config = ConfigDict(frozen=True)

    passing: bool | None = None  # True: every turn kept; False: at least one turn not kept; None: all
    origin: Literal["pipeline", "release", "demo", "ingest"] | None = None


class ChainSummary(BaseModel):
    chain_id: int
    key: str
    origin: str
    source_id: int
    n_turns: int  # the turns the chain was planned with
    turn_verdicts: list[TurnVerdict]  # one per planned turn
    all_pass: bool

    @property
    def strip(self) -> str:
        marks = {"keep": "✓", "fail": "✗", "pending": "…", "skipped": "–", "missing": "·"}
        return " ".join(marks[v] for v in self.turn_verdicts)


class ChainPage(BaseModel):
    items: list[ChainSummary]
    next_cursor: int | None = None  # the last chain id examined: pass as `after` for the next page
    scanned: int = 0


class TurnAttempt(BaseModel):
    attempt_id: int
    attempt_no: int
    status: str
    failure_reason: str | None
    instruction: str | None
    short_instruction: str | None
    score: float | None
    verdict: Literal["keep", "fail", "pending"]
    verdict_source: str
    output_sha256: str | None
    output_ref: str | None


class ChainTurn(BaseModel):
    turn: int
    edit_id: int | None
    edit_type_id: int | None
    edit_type: str | None
    skip_reason: str | None = None
    input_sha256: str | None = None  # turn 1: the source photo; later: the parent attempt's output
    input_attempt_id: int | None = None  # None for turn 1
    attempts: list[TurnAttempt] = Field(default_factory=list)
    chosen_attempt_id: int | None = None  # the kept attempt the chain continues from
    verdict: TurnVerdict = "missing"

    @property
    def shown(self) -> TurnAttempt | None:
        """The attempt to show for this turn: the chosen one, else the last one with an image, else the last."""
        by_id = {a.attempt_id: a for a in self.attempts}
        if self.chosen_attempt_id in by_id:
            return by_id[self.chosen_attempt_id]
        with_image = [a for a in self.attempts if a.output_sha256 or a.output_ref]
        return (with_image or self.attempts or [None])[-1]


class ChainDetail(BaseModel):
    summary: ChainSummary
    source_uri: str
    source_sha256: str | None
    turns: list[ChainTurn]


# -- pass / fail per turn -------------------------------------------------------------------------------


def _turn_rows(store: Store, policy: Policy, chain_ids: list[int]) -> list[tuple]:
    """(chain, turn, edit, parent attempt, skip reason, edit type, attempt, attempt_no, verdict) in chain order."""
    if not chain_ids:
        return []
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    return store.conn.execute(
        f"SELECT e.chain_id, e.turn, e.id, e.parent_attempt_id, e.skip_reason, e.edit_type_id, a.id, a.attempt_no, "
        f"CASE WHEN a.id IS NULL THEN NULL ELSE {verdict} END "
        f"FROM edits e LEFT JOIN attempts a ON a.edit_id = e.id "
        f"LEFT JOIN judgments j ON j.attempt_id = a.id LEFT JOIN human_decisions h ON h.attempt_id = a.id "
        f"WHERE e.chain_id IN ({','.join('?' * len(chain_ids))}) "
        f"ORDER BY e.chain_id, e.turn, e.id, a.attempt_no, a.id", chain_ids).fetchall()


def _walk(n_turns: int, rows: list[tuple]) -> tuple[list[TurnVerdict], dict[int, int]]:
    """Per planned turn, its verdict and (when kept) the attempt the chain continues from."""
    by_turn = {turn: list(group) for turn, group in itertools.groupby(rows, key=lambda r: r[1])}
    verdicts: list[TurnVerdict] = []
    chosen: dict[int, int] = {}
    previous: int | None = None
    for turn in range(1, n_turns + 1):
        entries = by_turn.get(turn, [])
        attempts = [r for r in entries if r[6] is not None]
        # Turn k continues from the attempt chosen at k-1 (its edit's parent), never from a sibling.
        eligible = [r for r in attempts if turn == 1 or (previous is not None and r[3] == previous)]
        kept = next((r for r in eligible if r[8] == "keep"), None)
        if kept is not None:
            verdicts.append("keep")
            chosen[turn] = previous = kept[6]
            continue
        previous = None
        if not entries:
            verdicts.append("missing")
        elif not attempts:
            verdicts.append("skipped")
        elif any(r[8] == "pending" for r in attempts):
            verdicts.append("pending")
        else:
            verdicts.append("fail")
    return verdicts, chosen


def _summaries(store: Store, policy: Policy, chain_rows: list) -> list[ChainSummary]:
    rows = _turn_rows(store, policy, [r["id"] for r in chain_rows])
    grouped = {cid: list(group) for cid, group in itertools.groupby(rows, key=lambda r: r[0])}
    out = []
    for c in chain_rows:
        verdicts, _ = _walk(c["n_turns"], grouped.get(c["id"], []))
        out.append(ChainSummary(chain_id=c["id"], key=c["key"], origin=c["origin"], source_id=c["source_id"],
                                n_turns=c["n_turns"], turn_verdicts=verdicts,
                                all_pass=all(v == "keep" for v in verdicts)))
    return out


# -- the list ---------------------------------------------------------------------------------------------


def chains_page(store: Store, flt: ChainFilter | None = None, *, after: int | None = None, limit: int = 20,
                policy: Policy | None = None) -> ChainPage:
    """Chains newest first (by id), keyset-paged: `after` is the previous page's `next_cursor`.

    With a pass filter, chains are read in batches and filtered until the page is full or SCAN_LIMIT chains
    were examined (the page may then be short, with a cursor to continue).
    """
    if not 1 <= limit <= 500:
        raise ValueError("limit must be between 1 and 500")
    flt = flt or ChainFilter()
    policy = policy or active_policy(store)
    items: list[ChainSummary] = []
    cursor, scanned = after, 0
    while len(items) < limit and scanned < SCAN_LIMIT:
        conds, params = [], []
        if cursor is not None:
            conds.append("id < ?")
            params.append(cursor)
        if flt.origin is not None:
            conds.append("origin = ?")
            params.append(flt.origin)
        batch = limit - len(items) if flt.passing is None else SCAN_BATCH
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        chain_rows = store.query(f"SELECT id, key, origin, source_id, n_turns FROM chains {where} "
                                 f"ORDER BY id DESC LIMIT ?", (*params, batch))
        if not chain_rows:
            return ChainPage(items=items, next_cursor=None, scanned=scanned)
        for summary in _summaries(store, policy, chain_rows):
            scanned += 1
            cursor = summary.chain_id
            if flt.passing is None or summary.all_pass == flt.passing:
                items.append(summary)
                if len(items) >= limit:
                    break
    more = store.scalar(f"SELECT EXISTS (SELECT 1 FROM chains WHERE id < ?{' AND origin = ?' if flt.origin else ''})",
                        (cursor, flt.origin) if flt.origin else (cursor,))
    return ChainPage(items=items, next_cursor=cursor if more else None, scanned=scanned)


# -- one chain ------------------------------------------------------------------------------------------


def chain_detail(store: Store, chain_id: int, *, policy: Policy | None = None) -> ChainDetail:
    policy = policy or active_policy(store)
    chain = store.conn.execute(
        "SELECT c.id, c.key, c.origin, c.source_id, c.n_turns, s.uri, s.image_sha256 FROM chains c "
        "JOIN sources s ON s.id = c.source_id WHERE c.id = ?", (chain_id,)).fetchone()
    if chain is None:
        raise StoreError(f"no chain {chain_id}")
    summary = _summaries(store, policy, [chain])[0]
    rows = _turn_rows(store, policy, [chain_id])
    _, chosen = _walk(chain["n_turns"], rows)
    attempts = _attempts(store, policy, [r[6] for r in rows if r[6] is not None])
    parents = {r[3] for r in rows if r[3] is not None}
    parent_outputs = dict(store.query(
        f"SELECT id, output_sha256 FROM attempts WHERE id IN ({','.join('?' * len(parents))})", tuple(parents))
    ) if parents else {}
    turns = []
    by_turn = {turn: list(group) for turn, group in itertools.groupby(rows, key=lambda r: r[1])}
    for k in range(1, max([chain["n_turns"], *by_turn]) + 1):
        entries = by_turn.get(k, [])
        # A turn may hold several edits: types the writer found ineligible (skipped) before the one attempted.
        attempted = [r for r in entries if r[6] is not None]
        main = (attempted or entries or [None])[-1]
        turn = ChainTurn(turn=k, edit_id=main[2] if main else None, edit_type_id=main[5] if main else None,
                         edit_type=_type_name(main[5]) if main else None,
                         verdict=summary.turn_verdicts[k - 1] if k <= len(summary.turn_verdicts) else "missing")
        if main is not None:
            edit_id = main[2]
            turn.attempts = [attempts[r[6]] for r in attempted if r[2] == edit_id]
            turn.skip_reason = next((r[4] for r in entries if r[4]), None) if not attempted else None
            turn.chosen_attempt_id = chosen.get(k)
            if k == 1:
                turn.input_sha256 = chain["image_sha256"]
            else:
                turn.input_attempt_id = main[3]
                turn.input_sha256 = parent_outputs.get(main[3])
        turns.append(turn)
    return ChainDetail(summary=summary, source_uri=chain["uri"], source_sha256=chain["image_sha256"], turns=turns)


def _type_name(type_id: int | None) -> str | None:
    if type_id is None:
        return None
    try:
        return edit_type_by_id(type_id).name
    except KeyError:
        return None


def _attempts(store: Store, policy: Policy, ids: list[int]) -> dict[int, TurnAttempt]:
    if not ids:
        return {}
    score = f"CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {policy.score_sql('j', category='j.category_id')} END"
    rows = store.query(
        f"SELECT a.id AS attempt_id, a.attempt_no, a.status, a.failure_reason, a.instruction, a.short_instruction, "
        f"{score} AS score, {effective_verdict_sql(policy)} AS verdict, {verdict_source_sql()} AS verdict_source, "
        f"a.output_sha256, a.output_ref FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id WHERE a.id IN ({','.join('?' * len(ids))})", tuple(ids))
    return {r["attempt_id"]: TurnAttempt(**dict(r)) for r in rows}
