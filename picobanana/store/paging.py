"""Keyset pages of attempts for grids and queues, straight from SQLite.

    page = page_attempts(store, AttemptFilter(category_id=2, verdict="keep"), sort="score_desc")
    page = page_attempts(store, same_filter, sort="score_desc", after=page.next_cursor)

Filters (AttemptFilter): the attempt's own facts (category, edit type, origin, status, turn, backend, model,
source photo), the effective verdict and its two inputs (the judge's verdict under the policy, the human
decision), ranges of the weighted score and of each sub-score, and words of the instructions (FTS5).

Order: `score_desc` = (score DESC, id DESC), `score_asc` = (score ASC, id ASC), both with unjudged attempts
(score NULL) last, ordered by id in the same direction; `newest` = id DESC. The cursor is an opaque string
holding the (score or null, id) of the last item shown; it is only meaningful with the same filter and sort.

How a score-sorted page stays fast at 1M attempts (the plan is checked by a test with EXPLAIN QUERY PLAN):
the active policy's expression indexes `judgments_active_score` / `judgments_active_category_score`
(policies.py) keep judgments in score order, so the page is a merge, by (score, id), of
  (a) judged attempts without a human decision: a range scan of the score index, in two seeks after a
      cursor (the rest of the cursor's score tie by rowid, then the scores beyond it); the verdict filter is
      a bound of that range (keep ⇔ score ≥ threshold);
  (b) attempts with a human decision of the wanted verdict: `human_decisions` is small, and is read once
      per store revision into memory (filtered and ordered there);
  (c) unjudged attempts without a human decision (score NULL, last), read by id, and only once (a) and (b)
      are exhausted, after checking (two index counts) that unjudged attempts exist at all.
The score range and the judge's verdict are further bounds of the same index range; sub-scores, backend and
model are checked row by row along it (they rarely exclude most rows). The verdict of every item is then
computed by the one definition in verdicts.py. Anything the indexes cannot serve — a policy that is not the
active one, per-category thresholds without a category filter — takes the generic plan over the same
definition, with the same results. So do the selective filters, a source photo (edits_source index) and
text (the FTS5 index `attempts_text`, brought up to date first): there SQLite starts from the few matching rows and sorts only them.

The row-by-row filters are the trap: a rare model, or sub-scores few judgments have, would make the score
walk read the whole index to fill a page. So before choosing a plan, a capped count (at most SELECTIVE_ROWS
entries of the `attempts_facets` index or of `judgments`) tells whether they are rare; rare ones take the
generic plan, which then starts from those few rows. And when no judged attempt has the wanted origin / turn
/ backend / model / status (release imports are unjudged), the score walk (a) is skipped. These probes only
choose a plan, never the result, so they are cached for PROBE_TTL_S seconds.
"""

from __future__ import annotations

import base64
import heapq
import time
import weakref
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from picobanana.errors import InputError
from picobanana.store.db import Store
from picobanana.store.policies import EPSILON, SUBSCORES, Policy, active_policy
from picobanana.store.text_search import fts_query, sync_instruction_index
from picobanana.store.verdicts import Verdict, effective_verdict_sql, judge_verdict_sql, verdict_source_sql
from picobanana.taxonomy import implied_category_id

Sort = Literal["score_desc", "score_asc", "newest"]
SORTS: tuple[Sort, ...] = ("score_desc", "score_asc", "newest")


class AttemptFilter(BaseModel):
    """What to show; None means "any"."""

    model_config = ConfigDict(frozen=True)

    category_id: int | None = None
    edit_type_id: int | None = None
    verdict: Verdict | None = None
    origin: str | None = None
    status: str | None = None
    turn: int | None = Field(None, ge=1)
    backend: str | None = None
    model: str | None = None
    source_id: int | None = None
    judge_verdict: Literal["keep", "fail", "unjudged"] | None = None  # under the policy, ignoring humans
    human_verdict: Literal["keep", "fail"] | None = None
    has_override: bool | None = None  # True: a curator decided (whatever the judge said); False: nobody did
    # Inclusive ranges (with the policy's float tolerance); any bound excludes unjudged attempts.
    score_min: float | None = Field(None, ge=0, le=1)
    score_max: float | None = Field(None, ge=0, le=1)
    compliance_min: float | None = Field(None, ge=0, le=1)
    compliance_max: float | None = Field(None, ge=0, le=1)
    seamlessness_min: float | None = Field(None, ge=0, le=1)
    seamlessness_max: float | None = Field(None, ge=0, le=1)
    preservation_min: float | None = Field(None, ge=0, le=1)
    preservation_max: float | None = Field(None, ge=0, le=1)
    quality_min: float | None = Field(None, ge=0, le=1)
    quality_max: float | None = Field(None, ge=0, le=1)
    text: str | None = None  # words of the long or short instruction (all of them, each as a prefix)

    def subscore_bounds(self) -> list[tuple[str, str, float]]:
        """(sub-score column, '>=' or '<=', bound) for every sub-score bound set."""
        found = []
        for name in SUBSCORES:
            for side, op in (("min", ">="), ("max", "<=")):
                value = getattr(self, f"{name}_{side}")
                if value is not None:
                    found.append((name, op, value))
        return found

    @property
    def needs_judgment(self) -> bool:
        """Only judged attempts can match (a score bound or a judge verdict of keep/fail)."""
        return (self.score_min is not None or self.score_max is not None or bool(self.subscore_bounds())
                or self.judge_verdict in ("keep", "fail"))

    @property
    def excludes_human(self) -> bool:
        return self.has_override is False

    @property
    def needs_human(self) -> bool:
        return self.has_override is True or self.human_verdict is not None


class Cursor(BaseModel):
    """The position after which the next page starts: (score or None, attempt id)."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    id: int

    def encode(self) -> str:
        # float.hex round-trips exactly: the tie seek compares the index value with equality.
        raw = f"{'' if self.score is None else self.score.hex()}:{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def __str__(self) -> str:
        return self.encode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            score, _, ident = raw.partition(":")
            return cls(score=float.fromhex(score) if score else None, id=int(ident))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"not a page cursor: {text!r}") from exc


class PageItem(BaseModel):
    """What a grid cell needs to draw an attempt and link to it."""

    attempt_id: int
    edit_id: int
    category_id: int | None
    edit_type_id: int | None
    turn: int
    attempt_no: int
    status: str
    origin: str
    score: float | None
    verdict: Verdict
    verdict_source: str
    output_sha256: str | None
    output_ref: str | None
    short_instruction: str | None

    @property
    def cursor(self) -> Cursor:
        return Cursor(score=self.score, id=self.attempt_id)


class Page(BaseModel):
    items: list[PageItem]
    next_cursor: str | None = None
    plan: Literal["score_index", "by_id", "generic"] = "score_index"  # which plan served it (see module doc)


def page_attempts(store: Store, filter: AttemptFilter | None = None, sort: Sort = "score_desc",
                  after: Cursor | str | None = None, limit: int = 48, policy: Policy | None = None) -> Page:
    """One page of attempts matching `filter`, in `sort` order, after the cursor `after`."""
    if sort not in SORTS:
        raise InputError(f"unknown sort {sort!r} (choose from {', '.join(SORTS)})")
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000")
    flt = _with_category(filter or AttemptFilter())
    cursor = Cursor.decode(after) if isinstance(after, str) else after
    policy = policy or active_policy(store)
    want = limit + 1  # one more than shown tells whether there is a next page
    if flt.text is not None:
        sync_instruction_index(store)
    rare_facets = _rare_facets(store, flt)
    if sort == "newest":
        keys, plan = _generic_keys(store, policy, flt, sort, cursor, want, rare_facets), "by_id"
    elif _indexed_plan_applies(store, policy, flt) and not rare_facets and not _rare_subscores(store, flt):
        keys, plan = _indexed_keys(store, policy, flt, sort == "score_desc", cursor, want), "score_index"
    else:
        keys, plan = _generic_keys(store, policy, flt, sort, cursor, want, rare_facets), "generic"
    items = _items(store, policy, [attempt_id for _, attempt_id in keys[:limit]])
    next_cursor = items[-1].cursor.encode() if len(keys) > limit else None
    return Page(items=items, next_cursor=next_cursor, plan=plan)


def iter_attempts(store: Store, filter: AttemptFilter | None = None, sort: Sort = "score_desc",
                  page_size: int = 500, policy: Policy | None = None) -> Iterable[PageItem]:
    """Every matching attempt, page by page (flat memory)."""
    policy = policy or active_policy(store)
    cursor: str | None = None
    while True:
        page = page_attempts(store, filter, sort, cursor, page_size, policy)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


# -- the indexed plan ---------------------------------------------------------------------------------


def _with_category(flt: AttemptFilter) -> AttemptFilter:
    category_id = implied_category_id(flt.category_id, flt.edit_type_id)
    return flt if category_id == flt.category_id else flt.model_copy(update={"category_id": category_id})


def _indexed_plan_applies(store: Store, policy: Policy, flt: AttemptFilter) -> bool:
    index_sql = store.scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                             ("judgments_active_category_score",))
    if index_sql is None or f"(category_id, {policy.score_sql('')})" not in str(index_sql):
        return False  # not the active policy's formula: no index orders by this score
    if flt.text is not None or flt.source_id is not None:
        return False  # selective: start from their own index (generic plan), not from the score order
    lo, hi = policy.thresholds_span()
    bounded_by_threshold = flt.verdict in ("keep", "fail") or flt.judge_verdict in ("keep", "fail")
    return not (bounded_by_threshold and flt.category_id is None and lo != hi)


def _indexed_keys(store: Store, policy: Policy, flt: AttemptFilter, desc: bool, cursor: Cursor | None,
                  want: int) -> list[tuple[float | None, int]]:
    keys: list[tuple[float | None, int]] = []
    if cursor is None or cursor.score is not None:
        if flt.verdict != "pending":  # a judged or human-decided attempt is never pending
            keys = _merge(desc, want, _judged_without_human(store, policy, flt, desc, cursor, want),
                          _human_scored(store, policy, flt, desc, cursor, want))
        if len(keys) >= want:
            return keys
        cursor = None  # the scored attempts are exhausted: continue with the unjudged ones
    rest = want - len(keys)
    null_keys = _merge(desc, rest, _human_unjudged(store, policy, flt, desc, cursor, rest),
                       _unjudged(store, policy, flt, desc, cursor, rest))
    return keys + null_keys


def _merge(desc: bool, want: int, *streams: list[tuple[float | None, int]]) -> list[tuple[float | None, int]]:
    def key(k: tuple[float | None, int]) -> tuple[float, int]:
        score = -1.0 if k[0] is None else k[0]
        return (-score, -k[1]) if desc else (score, k[1])

    return list(heapq.merge(*streams, key=key))[:want]


ATTEMPT_COLUMNS = ("category_id", "edit_type_id", "origin", "status", "turn", "backend", "model")


def _attempt_conditions(flt: AttemptFilter, a: str) -> tuple[list[str], list[object]]:
    """Conditions on the attempt row's own columns (the score and verdict are handled by each plan)."""
    conds, params = [], []
    for column in ATTEMPT_COLUMNS:
        value = getattr(flt, column)
        if value is not None:
            conds.append(f"{a}.{column} = ?")
            params.append(value)
    return conds, params


def _judged_without_human(store, policy, flt, desc, cursor, want) -> list[tuple[float, int]]:
    """(a): one judgments-only query per seek, so that SQLite matches the index expression."""
    if flt.needs_human or flt.judge_verdict == "unjudged" or not _judged_facets_exist(store, flt):
        return []
    score = policy.score_sql("")
    conds = ["NOT EXISTS (SELECT 1 FROM human_decisions h WHERE h.attempt_id = judgments.attempt_id)"]
    params: list[object] = []
    if flt.category_id is not None:
        conds.insert(0, "category_id = ?")
        params.insert(0, flt.category_id)
    extra, extra_params = _attempt_conditions(flt.model_copy(update={"category_id": None}), "a")
    if extra:
        conds.append(f"EXISTS (SELECT 1 FROM attempts a WHERE a.id = judgments.attempt_id AND {' AND '.join(extra)})")
        params += extra_params
    # Without a human decision, the effective verdict is the judge's: both are bounds of the score range.
    for verdict in {flt.verdict, flt.judge_verdict} & {"keep", "fail"}:
        threshold = policy.threshold_for(flt.category_id) - EPSILON  # the constant threshold_sql() writes
        conds.append(f"{score} {'>=' if verdict == 'keep' else '<'} ?")
        params.append(threshold)
    if flt.score_min is not None:
        conds.append(f"{score} >= ?")
        params.append(flt.score_min - EPSILON)
    if flt.score_max is not None:
        conds.append(f"{score} <= ?")
        params.append(flt.score_max + EPSILON)
    for column, op, bound in flt.subscore_bounds():
        conds.append(f"{column} {op} ?")
        params.append(bound - EPSILON if op == ">=" else bound + EPSILON)
    direction = "DESC" if desc else "ASC"
    select = f"SELECT {score} AS score, attempt_id FROM judgments WHERE "
    found: list[tuple[float, int]] = []
    if cursor is not None:
        # The rest of the cursor's tie: equality on the score, then a rowid range in the same index.
        tie = conds + [f"{score} = ?", f"attempt_id {'<' if desc else '>'} ?"]
        found = store.conn.execute(f"{select}{' AND '.join(tie)} ORDER BY attempt_id {direction} LIMIT ?",
                                   (*params, cursor.score, cursor.id, want)).fetchall()
        if len(found) >= want:
            return [tuple(r) for r in found]
        conds = conds + [f"{score} {'<' if desc else '>'} ?"]
        params = params + [cursor.score]
    rows = store.conn.execute(
        f"{select}{' AND '.join(conds)} ORDER BY {score} {direction}, attempt_id {direction} LIMIT ?",
        (*params, want - len(found))).fetchall()
    return [tuple(r) for r in found] + [tuple(r) for r in rows]


class _HumanDecided:
    """Every human-decided attempt with what the filters and the score order need, read once per store revision.

    Human decisions are few (thousands), but reading them through two joins for every page costs more than the
    score-index seeks themselves; any write bumps the revision, which invalidates this copy.
    """

    COLUMNS = ATTEMPT_COLUMNS

    def __init__(self, store: Store, policy: Policy, revision: int):
        self.revision = revision
        self.score_sql = policy.score_sql("j", category="j.category_id")
        rows = store.conn.execute(
            f"SELECT CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {self.score_sql} END AS score, a.id, h.verdict, "
            f"{', '.join(f'a.{c}' for c in self.COLUMNS)}, {', '.join(f'j.{c}' for c in SUBSCORES)} "
            f"FROM human_decisions h "
            f"JOIN attempts a ON a.id = h.attempt_id LEFT JOIN judgments j ON j.attempt_id = h.attempt_id").fetchall()
        # Ascending (score, id), the unjudged (score NULL) apart, ascending id.
        self.scored = sorted((tuple(r) for r in rows if r[0] is not None), key=lambda r: (r[0], r[1]))
        self.unjudged = sorted((tuple(r) for r in rows if r[0] is None), key=lambda r: r[1])

    @classmethod
    def of(cls, store: Store, policy: Policy) -> _HumanDecided:
        revision = store.revision
        cached = _HUMAN_CACHE.get(store)
        if cached is None or cached.revision != revision or cached.score_sql != policy.score_sql(
                "j", category="j.category_id"):
            cached = _HUMAN_CACHE[store] = cls(store, policy, revision)
        return cached

    @staticmethod
    def select(rows: list[tuple], flt: AttemptFilter, policy: Policy, desc: bool, after: tuple | None, want: int,
               key=lambda r: (r[0], r[1])) -> list[tuple]:
        if flt.excludes_human:
            return []
        matches = _HumanDecided.matcher(flt, policy)
        found = []
        for row in reversed(rows) if desc else rows:
            if after is not None and (key(row) >= after if desc else key(row) <= after):
                continue
            if matches(row):
                found.append((row[0], row[1]))
                if len(found) >= want:
                    break
        return found


    @staticmethod
    def matcher(flt: AttemptFilter, policy: Policy):
        """The filter as a predicate over a cached row (the same tests the SQL plans make)."""
        n = len(_HumanDecided.COLUMNS)
        wanted = [(i, getattr(flt, c)) for i, c in enumerate(_HumanDecided.COLUMNS, start=3)
                  if getattr(flt, c) is not None]
        sub_at = {name: 3 + n + i for i, name in enumerate(SUBSCORES)}
        bounds = flt.subscore_bounds()

        def matches(row: tuple) -> bool:
            score, verdict, category = row[0], row[2], row[3]
            if flt.verdict is not None and verdict != flt.verdict:
                return False
            if flt.human_verdict is not None and verdict != flt.human_verdict:
                return False
            if not all(row[i] == v for i, v in wanted):
                return False
            if flt.judge_verdict is not None:
                judge = None if score is None else ("keep" if policy.keeps(score, category) else "fail")
                if (judge or "unjudged") != flt.judge_verdict:
                    return False
            if score is None:
                return not flt.needs_judgment
            if flt.score_min is not None and score < flt.score_min - EPSILON:
                return False
            if flt.score_max is not None and score > flt.score_max + EPSILON:
                return False
            for column, op, bound in bounds:
                value = row[sub_at[column]]
                if (value < bound - EPSILON) if op == ">=" else (value > bound + EPSILON):
                    return False
            return True

        return matches


_HUMAN_CACHE: weakref.WeakKeyDictionary[Store, _HumanDecided] = weakref.WeakKeyDictionary()


def _human_scored(store, policy, flt, desc, cursor, want) -> list[tuple[float, int]]:
    """(b) with a judgment, in (score, id) order after the cursor."""
    humans = _HumanDecided.of(store, policy)
    after = None if cursor is None else (cursor.score, cursor.id)
    return _HumanDecided.select(humans.scored, flt, policy, desc, after, want)


def _human_unjudged(store, policy, flt, desc, cursor, want) -> list[tuple[None, int]]:
    """(b) without a judgment: human decisions on attempts the judge never saw (score NULL), in id order."""
    if flt.verdict == "pending" or flt.needs_judgment or want <= 0:
        return []
    humans = _HumanDecided.of(store, policy)
    after = None if cursor is None else cursor.id
    return _HumanDecided.select(humans.unjudged, flt, policy, desc, after, want, key=lambda r: r[1])


def _unjudged(store, policy, flt, desc, cursor, want) -> list[tuple[None, int]]:
    """(c): attempts with neither judgment nor human decision, their verdict given by their status."""
    if want <= 0 or flt.needs_judgment or flt.needs_human or not _unjudged_may_exist(store, flt.category_id):
        return []
    conds, params = _attempt_conditions(flt, "a")
    conds += ["j.attempt_id IS NULL", "h.attempt_id IS NULL"]
    if flt.verdict is not None:
        conds.append(f"({effective_verdict_sql(policy, 'a', 'j', 'h')}) = ?")
        params.append(flt.verdict)
    if cursor is not None:
        conds.append(f"a.id {'<' if desc else '>'} ?")
        params.append(cursor.id)
    rows = store.conn.execute(
        f"SELECT NULL, a.id FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id {_where(conds)} "
        f"ORDER BY a.id {'DESC' if desc else 'ASC'} LIMIT ?", (*params, want)).fetchall()
    return [tuple(r) for r in rows]


def _unjudged_may_exist(store: Store, category_id: int | None) -> bool:
    """Two index-only counts, so that a fully judged workspace never scans its attempts for unjudged ones.

    (Every judgment carries its attempt's category, so equal counts mean every attempt there is judged.)
    """
    if category_id is None:
        return store.scalar("SELECT (SELECT COUNT(*) FROM attempts) > (SELECT COUNT(*) FROM judgments)") == 1
    return store.scalar("SELECT (SELECT COUNT(*) FROM attempts WHERE category_id = ?) > "
                        "(SELECT COUNT(*) FROM judgments WHERE category_id = ?)", (category_id, category_id)) == 1


# -- choosing between them: cheap, cached probes of how rare the row-by-row filters are ------------------

FACET_INDEX = "attempts_facets"  # (origin, turn, backend, model, status): schema migration m005
FACETS = ("origin", "turn", "backend", "model", "status")
SELECTIVE_ROWS = 20_000  # fewer matching rows than this: sorting them beats walking the score order
PROBE_TTL_S = 120.0

_PROBES: weakref.WeakKeyDictionary[Store, dict[tuple, tuple[float, object]]] = weakref.WeakKeyDictionary()


def _probe(store: Store, key: tuple, compute):
    cache = _PROBES.setdefault(store, {})
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < PROBE_TTL_S:
        return hit[1]
    value = compute()
    cache[key] = (now, value)
    return value


def _facet_conditions(flt: AttemptFilter, a: str = "a") -> tuple[list[str], list[object]]:
    wanted = [(c, getattr(flt, c)) for c in FACETS if getattr(flt, c) is not None]
    return [f"{a}.{c} = ?" for c, _ in wanted], [v for _, v in wanted]


def _facet_index_exists(store: Store) -> bool:
    return bool(_probe(store, ("facet-index",), lambda: store.scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?", (FACET_INDEX,))))


def _rare_facets(store: Store, flt: AttemptFilter) -> bool:
    """Do the origin / turn / backend / model / status filters match fewer than SELECTIVE_ROWS attempts?"""
    conds, params = _facet_conditions(flt)
    if not conds or flt.text is not None or flt.source_id is not None or not _facet_index_exists(store):
        return False  # nothing to probe, or a text / source filter drives the query already
    return _probe(store, ("facets", *params, *conds), lambda: store.scalar(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM attempts a INDEXED BY {FACET_INDEX} WHERE {' AND '.join(conds)} "
        f"LIMIT {SELECTIVE_ROWS})", params) < SELECTIVE_ROWS)


def _rare_subscores(store: Store, flt: AttemptFilter) -> bool:
    bounds = flt.subscore_bounds()
    if not bounds:
        return False
    conds = [f"{column} {op} ?" for column, op, _ in bounds]
    params = [bound - EPSILON if op == ">=" else bound + EPSILON for _, op, bound in bounds]
    return _probe(store, ("subscores", *conds, *params), lambda: store.scalar(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM judgments WHERE {' AND '.join(conds)} LIMIT {SELECTIVE_ROWS})",
        params) < SELECTIVE_ROWS)


def _judged_facets_exist(store: Store, flt: AttemptFilter) -> bool:
    """False when no judged attempt has the wanted facets: the score walk (a) would read it all for nothing."""
    conds, params = _facet_conditions(flt)
    if not conds or not _facet_index_exists(store):
        return True
    # Unlike the other probes, this one decides what is read, so "none" is trusted only at the store
    # revision it was measured at ("some" stays true: a judgment is never deleted).
    key = ("judged-facets", store.revision, *params, *conds)
    return bool(_probe(store, key, lambda: store.scalar(
        f"SELECT EXISTS (SELECT 1 FROM attempts a INDEXED BY {FACET_INDEX} "
        f"JOIN judgments j ON j.attempt_id = a.id WHERE {' AND '.join(conds)})", params)))


# -- the generic plan ---------------------------------------------------------------------------------


def _generic_keys(store, policy, flt, sort, cursor, want, rare_facets=False) -> list[tuple[float | None, int]]:
    """Any policy and filter: the verdict and score computed per row, sorted by SQLite. Correct, not fast —
    except `newest`, which walks the id order (the attempts_category index with a category) and stops early,
    and rare facets, read from their index (`rare_facets`)."""
    score = f"CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {policy.score_sql('j', category='j.category_id')} END"
    conds, params = _generic_conditions(policy, flt, score)
    hint = f" INDEXED BY {FACET_INDEX}" if rare_facets else ""
    base = (f"FROM attempts a{hint} LEFT JOIN judgments j ON j.attempt_id = a.id "
            "LEFT JOIN human_decisions h ON h.attempt_id = a.id")
    if sort == "newest":
        if cursor is not None:
            conds.append("a.id < ?")
            params.append(cursor.id)
        rows = store.conn.execute(f"SELECT NULL, a.id {base} {_where(conds)} ORDER BY a.id DESC LIMIT ?",
                                  (*params, want)).fetchall()
        return [tuple(r) for r in rows]
    desc = sort == "score_desc"
    op, direction = ("<", "DESC") if desc else (">", "ASC")
    if cursor is not None:
        if cursor.score is None:  # already among the unjudged
            conds.append(f"({score}) IS NULL AND a.id {op} ?")
            params.append(cursor.id)
        else:
            conds.append(f"(({score}) IS NULL OR (({score}), a.id) {op} (?, ?))")
            params += [cursor.score, cursor.id]
    rows = store.conn.execute(
        f"SELECT {score} AS score, a.id {base} {_where(conds)} "
        f"ORDER BY score IS NULL, score {direction}, a.id {direction} LIMIT ?", (*params, want)).fetchall()
    return [tuple(r) for r in rows]


def _generic_conditions(policy: Policy, flt: AttemptFilter, score: str) -> tuple[list[str], list[object]]:
    """Every filter as SQL over attempt `a`, LEFT JOINed judgment `j` and human decision `h`."""
    conds, params = _attempt_conditions(flt, "a")
    if flt.verdict is not None:
        conds.append(f"({effective_verdict_sql(policy, 'a', 'j', 'h')}) = ?")
        params.append(flt.verdict)
    if flt.judge_verdict == "unjudged":
        conds.append("j.attempt_id IS NULL")
    elif flt.judge_verdict is not None:
        conds.append(f"({judge_verdict_sql(policy)}) = ?")
        params.append(flt.judge_verdict)
    if flt.human_verdict is not None:
        conds.append("h.verdict = ?")
        params.append(flt.human_verdict)
    if flt.has_override is not None:
        conds.append(f"h.attempt_id IS {'NOT ' if flt.has_override else ''}NULL")
    if flt.score_min is not None:
        conds.append(f"({score}) >= ?")
        params.append(flt.score_min - EPSILON)
    if flt.score_max is not None:
        conds.append(f"({score}) <= ?")
        params.append(flt.score_max + EPSILON)
    for column, op, bound in flt.subscore_bounds():
        conds.append(f"j.{column} {op} ?")
        params.append(bound - EPSILON if op == ">=" else bound + EPSILON)
    if flt.source_id is not None:
        conds.append("a.edit_id IN (SELECT id FROM edits WHERE source_id = ?)")
        params.append(flt.source_id)
    if flt.text is not None:
        query = fts_query(flt.text)
        if query is None:
            conds.append("0")  # nothing searchable typed: nothing matches
        else:
            conds.append("a.id IN (SELECT rowid FROM attempts_text WHERE attempts_text MATCH ?)")
            params.append(query)
    return conds, params


# -- items ----------------------------------------------------------------------------------------------


def _items(store: Store, policy: Policy, ids: list[int]) -> list[PageItem]:
    if not ids:
        return []
    score = f"CASE WHEN j.attempt_id IS NULL THEN NULL ELSE {policy.score_sql('j', category='j.category_id')} END"
    rows = store.conn.execute(
        f"SELECT a.id AS attempt_id, a.edit_id, a.category_id, a.edit_type_id, a.turn, a.attempt_no, a.status, "
        f"a.origin, {score} AS score, {effective_verdict_sql(policy)} AS verdict, "
        f"{verdict_source_sql()} AS verdict_source, a.output_sha256, a.output_ref, a.short_instruction "
        f"FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
        f"LEFT JOIN human_decisions h ON h.attempt_id = a.id "
        f"WHERE a.id IN ({','.join('?' * len(ids))})", ids).fetchall()
    by_id = {row["attempt_id"]: row for row in rows}
    return [PageItem(**dict(by_id[i])) for i in ids if i in by_id]


def _where(conds: list[str]) -> str:
    return f"WHERE {' AND '.join(conds)}" if conds else ""
