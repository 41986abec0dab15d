"""Dashboard queries over the DuckDB mirror (see mirror.py), under any policy.

Every verdict here comes from the SQL builders of store/verdicts.py, the same text SQLite runs for paging and
exports, so a dashboard never disagrees with the grid or the exported splits.

Population. Counts, pass rates, histograms and agreement are over **turn-1 attempts that are not part of a
chain**: the single-turn edits that the SFT and preference splits are made of. Multi-turn chains (whose turns
have no edit type in the release) are counted separately in `totals()`.

Pass rates, both defined as keep / (keep + fail), pending excluded:
- per attempt: of the attempts decided, the share kept. It is comparable to the paper's per-type success rates
  (`EditType.paper_success`), which count judged edit attempts;
- per edit: an edit passes if any of its attempts is kept, fails if all of its attempts are decided and none
  is kept, and is pending otherwise. This is the yield of the "up to three attempts" pipeline.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, computed_field

from picobanana.analytics.mirror import Mirror
from picobanana.store.policies import EPSILON, SUBSCORES, Policy
from picobanana.store.verdicts import effective_verdict_sql, judge_verdict_sql, verdict_source_sql
from picobanana.taxonomy import CATEGORIES, EDIT_TYPES, category_by_id, edit_type_by_id

# `attempt_facts` (mirror.py) is attempts ⟕ judgments ⟕ edits.chain_id; the builders address it as both the
# attempt `a` and the judgment `j` (its judgment columns are NULL when the attempt is unjudged).
SINGLE_TURN = ("FROM attempt_facts a LEFT JOIN human_decisions h ON h.attempt_id = a.id "
               "WHERE a.turn = 1 AND a.chain_id IS NULL")
A = J = "a"
MEASURES = ("score",) + SUBSCORES


def _rate(kept: int, failed: int) -> float | None:
    return kept / (kept + failed) if kept + failed else None


class Counts(BaseModel):
    """Attempt and edit counts of one group, with both pass rates (see the module docstring)."""

    attempts: int = 0
    keep: int = 0
    fail: int = 0
    pending: int = 0
    edits: int = 0
    edits_kept: int = 0
    edits_failed: int = 0
    edits_pending: int = 0

    @computed_field
    @property
    def attempt_pass_rate(self) -> float | None:
        """keep / (keep + fail) over attempts: comparable to the paper's per-type success rate."""
        return _rate(self.keep, self.fail)

    @computed_field
    @property
    def edit_pass_rate(self) -> float | None:
        """Edits kept on any attempt / (those + edits whose attempts all failed); pending edits excluded."""
        return _rate(self.edits_kept, self.edits_failed)

    def add(self, other: Counts) -> None:
        for name in Counts.model_fields:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in Counts.model_fields}


class EditTypeStats(Counts):
    edit_type_id: int | None
    name: str
    category_id: int | None
    paper_success: float | None = None


class CategoryStats(Counts):
    category_id: int | None
    name: str
    share: float = 0.0  # of all attempts in the population


class Stats(BaseModel):
    policy: str
    revision: int | None
    categories: list[CategoryStats]
    edit_types: list[EditTypeStats]
    total: Counts


def _policy(mirror: Mirror, policy: Policy | None) -> Policy:
    return policy or mirror.active_policy()


def stats(mirror: Mirror, policy: Policy | None = None) -> Stats:
    """Counts and pass rates by edit type, rolled up by category (every type and category listed, even empty)."""
    policy = _policy(mirror, policy)
    verdict = effective_verdict_sql(policy, A, J)
    rows = mirror.cursor().execute(f"""
        WITH v AS (SELECT a.edit_id, a.edit_type_id, a.category_id, {verdict} AS verdict {SINGLE_TURN}),
        per_edit AS (
            SELECT edit_id, edit_type_id, category_id, count(*) AS n, count(*) FILTER (verdict = 'keep') AS k, count(*) FILTER (verdict = 'fail') AS f,
                   count(*) FILTER (verdict = 'pending') AS p
            FROM v GROUP BY edit_id, edit_type_id, category_id)
        SELECT edit_type_id, category_id, sum(n), sum(k), sum(f), sum(p), count(*),
               count(*) FILTER (k > 0), count(*) FILTER (k = 0 AND p = 0), count(*) FILTER (k = 0 AND p > 0)
        FROM per_edit GROUP BY edit_type_id, category_id""").fetchall()
    found = {(r[0], r[1]): Counts(attempts=r[2], keep=r[3], fail=r[4], pending=r[5], edits=r[6], edits_kept=r[7],
                                  edits_failed=r[8], edits_pending=r[9]) for r in rows}
    types = []
    for t in EDIT_TYPES:
        counts = found.pop((t.id, t.category.id), Counts())
        types.append(EditTypeStats(edit_type_id=t.id, name=t.name, category_id=t.category.id,
                                   paper_success=t.paper_success, **counts.counts()))
    for (type_id, category_id), counts in sorted(found.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or 0)):
        name = edit_type_by_id(type_id).name if type_id and 1 <= type_id <= len(EDIT_TYPES) else "(no edit type)"
        types.append(EditTypeStats(edit_type_id=type_id, name=name, category_id=category_id,
                                   **counts.counts()))
    by_category: dict[int | None, CategoryStats] = {
        c.id: CategoryStats(category_id=c.id, name=c.name) for c in CATEGORIES}
    total = Counts()
    for t in types:
        if t.category_id not in by_category:
            name = category_by_id(t.category_id).name if t.category_id in range(1, 9) else "(no category)"
            by_category[t.category_id] = CategoryStats(category_id=t.category_id, name=name)
        by_category[t.category_id].add(t)
        total.add(t)
    for c in by_category.values():
        c.share = c.attempts / total.attempts if total.attempts else 0.0
    return Stats(policy=f"{policy.name}@{policy.version}", revision=mirror.revision,
                 categories=list(by_category.values()), edit_types=types, total=total)


class VerdictCount(BaseModel):
    category_id: int | None
    edit_type_id: int | None
    verdict: Literal["keep", "fail", "pending"]
    source: str
    attempts: int


def verdict_breakdown(mirror: Mirror, policy: Policy | None = None) -> list[VerdictCount]:
    """Attempts by category × edit type × verdict × verdict source (human, judge, release, status, none)."""
    policy = _policy(mirror, policy)
    rows = mirror.cursor().execute(
        f"SELECT a.category_id, a.edit_type_id, {effective_verdict_sql(policy, A, J)} AS verdict, "
        f"{verdict_source_sql(A, J)} AS source, count(*) {SINGLE_TURN} GROUP BY ALL ORDER BY ALL").fetchall()
    return [VerdictCount(category_id=r[0], edit_type_id=r[1], verdict=r[2], source=r[3], attempts=r[4])
            for r in rows]


class Histogram(BaseModel):
    measure: str  # "score" (the policy's weighted score) or a sub-score name
    category_id: int | None  # None: all categories
    edges: list[float]  # bins + 1 edges over [0, 1]
    counts: list[int]


def score_histograms(mirror: Mirror, policy: Policy | None = None, bins: int = 20,
                     by_category: bool = False) -> list[Histogram]:
    """Histograms of the weighted score and of each sub-score over judged attempts; bin i is
    [i/bins, (i+1)/bins), the last one closed. `by_category` adds one set per category."""
    if not 1 <= bins <= 1000:
        raise ValueError("bins must be between 1 and 1000")
    policy = _policy(mirror, policy)
    score = policy.score_sql(J, category=f"{J}.category_id")
    group = f"{A}.category_id" if by_category else "NULL::INTEGER"
    # EPSILON: a score of exactly 0.7 computed as 0.69999999999 still belongs to the bin that starts at 0.7.
    values = [score] + [f"{J}.{name}" for name in SUBSCORES]
    bin_columns = ", ".join(f"least(CAST(floor(({v}) * {bins} + {EPSILON!r}) AS INTEGER), {bins - 1}) AS b{i}"
                            for i, v in enumerate(values))
    # One scan, one grouping set per measure (an UNPIVOT to long form is several times slower).
    sets = ", ".join(f"(category_id, b{i})" for i in range(len(values)))
    found = mirror.cursor().execute(f"""
        WITH s AS (SELECT {group} AS category_id, {bin_columns} {SINGLE_TURN} AND {J}.attempt_id IS NOT NULL)
        SELECT category_id, {', '.join(f'b{i}' for i in range(len(values)))}, count(*)
        FROM s GROUP BY GROUPING SETS ({sets})""").fetchall()
    rows = []
    for category, *measure_bins, n in found:
        i = next(i for i, b in enumerate(measure_bins) if b is not None)  # sub-scores are never NULL
        rows.append((category, MEASURES[i], measure_bins[i], n))
    edges = [i / bins for i in range(bins + 1)]
    out: dict[tuple[int | None, str], Histogram] = {}
    categories = sorted({r[0] for r in rows}, key=lambda c: (c is None, c or 0)) if by_category else [None]
    for category in categories:
        for measure in MEASURES:
            out[(category, measure)] = Histogram(measure=measure, category_id=category, edges=edges,
                                                 counts=[0] * bins)
    for category, measure, b, n in rows:
        out[(category, measure)].counts[b] += n
    return list(out.values())


class Agreement(BaseModel):
    """Judge verdict (policy applied to the judgment) vs the human decision, on attempts that have both."""

    matrix: dict[str, dict[str, int]]  # matrix[judge][human]
    attempts: int
    agreement: float | None
    kappa: float | None  # Cohen's kappa: agreement beyond chance
    category_id: int | None = None


def agreement(mirror: Mirror, policy: Policy | None = None, category_id: int | None = None) -> Agreement:
    policy = _policy(mirror, policy)
    where = "" if category_id is None else f" AND a.category_id = {int(category_id)}"
    rows = mirror.cursor().execute(
        f"SELECT {judge_verdict_sql(policy, J)} AS judge, h.verdict AS human, count(*) {SINGLE_TURN} "
        f"AND a.attempt_id IS NOT NULL AND h.verdict IS NOT NULL{where} GROUP BY ALL").fetchall()
    matrix = {judge: {human: 0 for human in ("keep", "fail")} for judge in ("keep", "fail")}
    for judge, human, n in rows:
        matrix[judge][human] = n
    n = sum(v for row in matrix.values() for v in row.values())
    if not n:
        return Agreement(matrix=matrix, attempts=0, agreement=None, kappa=None, category_id=category_id)
    observed = (matrix["keep"]["keep"] + matrix["fail"]["fail"]) / n
    judge_keep = (matrix["keep"]["keep"] + matrix["keep"]["fail"]) / n
    human_keep = (matrix["keep"]["keep"] + matrix["fail"]["keep"]) / n
    chance = judge_keep * human_keep + (1 - judge_keep) * (1 - human_keep)
    kappa = (observed - chance) / (1 - chance) if not math.isclose(chance, 1.0) else None
    return Agreement(matrix=matrix, attempts=n, agreement=observed, kappa=kappa, category_id=category_id)


class WhatIfRow(BaseModel):
    category_id: int | None
    keep: int
    fail: int
    pending: int
    borderline: int  # judged, no human decision, score within `margin` of the threshold
    changed: int | None = None  # effective verdict differs from the one under `compare_to` (when given)


class WhatIf(BaseModel):
    policy: Policy
    compared_to: str | None
    margin: float
    rows: list[WhatIfRow]
    total: WhatIfRow


def what_if(mirror: Mirror, policy: Policy, margin: float = 0.05, compare_to: Policy | None = None) -> WhatIf:
    """Keep / fail / pending / borderline counts per category if `policy` (any weights and thresholds) applied.

    Human decisions still win, as they would. Borderline = judged, no human decision, and the score within
    `margin` of the (category's) threshold: the attempts a slider move is most likely to flip. With `compare_to`
    (e.g. the active policy) each row also counts the attempts whose verdict would change. One scan of the
    mirror: fast enough to run per slider move.
    """
    score = policy.score_sql(J, category=f"{J}.category_id")
    threshold = policy.threshold_sql(f"{J}.category_id")
    before = effective_verdict_sql(compare_to, A, J) if compare_to else "NULL"
    rows = mirror.cursor().execute(f"""
        WITH v AS (SELECT {A}.category_id, {effective_verdict_sql(policy, A, J)} AS verdict, {before} AS before,
                          {J}.attempt_id IS NOT NULL AND h.verdict IS NULL
                              AND abs(({score}) - ({threshold})) < {float(margin)!r} AS borderline
                   {SINGLE_TURN})
        SELECT category_id, count(*) FILTER (verdict = 'keep'), count(*) FILTER (verdict = 'fail'),
               count(*) FILTER (verdict = 'pending'), count(*) FILTER (borderline),
               count(*) FILTER (verdict <> before)
        FROM v GROUP BY category_id""").fetchall()
    changed = (lambda n: n) if compare_to else (lambda n: None)
    found = {r[0]: WhatIfRow(category_id=r[0], keep=r[1], fail=r[2], pending=r[3], borderline=r[4],
                             changed=changed(r[5])) for r in rows}
    ordered = [found.pop(c.id, WhatIfRow(category_id=c.id, keep=0, fail=0, pending=0, borderline=0,
                                         changed=changed(0)))
               for c in CATEGORIES] + list(found.values())
    sums = {k: sum(getattr(r, k) for r in ordered) for k in ("keep", "fail", "pending", "borderline")}
    total = WhatIfRow(category_id=None, **sums,
                      changed=sum(r.changed for r in ordered) if compare_to else None)  # type: ignore[misc]
    return WhatIf(policy=policy, compared_to=f"{compare_to.name}@{compare_to.version}" if compare_to else None,
                  margin=margin, rows=ordered, total=total)


class Totals(BaseModel):
    attempts: int
    edits: int
    sources: int
    chains: int
    chain_attempts: int
    judged: int
    human_decisions: int


def totals(mirror: Mirror) -> Totals:
    """Whole-workspace sizes, chains included."""
    row = mirror.cursor().execute("""
        SELECT (SELECT count(*) FROM attempts), (SELECT count(*) FROM edits), (SELECT count(*) FROM sources),
               (SELECT count(*) FROM chains),
               (SELECT count(*) FROM attempt_facts WHERE chain_id IS NOT NULL),
               (SELECT count(*) FROM judgments), (SELECT count(*) FROM human_decisions)""").fetchone()
    return Totals(attempts=row[0], edits=row[1], sources=row[2], chains=row[3], chain_attempts=row[4],
                  judged=row[5], human_decisions=row[6])


class StatsReport(BaseModel):
    """Everything `picobanana stats` shows, in one object (the `--json` output)."""

    policy: str
    threshold: float  # the policy's default threshold (categories may have their own)
    revision: int | None
    totals: Totals
    stats: Stats
    agreement: Agreement
    histograms: list[Histogram] = []


def stats_report(mirror: Mirror, policy: Policy | None = None, histograms: bool = False,
                 bins: int = 20) -> StatsReport:
    policy = _policy(mirror, policy)
    return StatsReport(policy=f"{policy.name}@{policy.version}", threshold=policy.threshold,
                       revision=mirror.revision, totals=totals(mirror),
                       stats=stats(mirror, policy), agreement=agreement(mirror, policy),
                       histograms=score_histograms(mirror, policy, bins) if histograms else [])
