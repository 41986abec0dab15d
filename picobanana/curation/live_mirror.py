"""A workspace's DuckDB mirror kept open for the studio, and the in-memory snapshot the policy sliders count on.

Why a snapshot: `analytics.what_if` recomputes every attempt's verdict in SQL, 80–230 ms at 1M attempts on a
busy 2-core machine (twice that with the comparison against the active policy). Only judged attempts without
a human decision depend on the policy, and their four sub-scores fit in a few NumPy arrays (≈ 30 MB at 1M
attempts), which score a policy in a few milliseconds with the same arithmetic, in the same order, as the SQL
(so the verdicts agree to the last bit).

Keeping it current, per call: the store's revision (one lookup). When it moved, the newest `rev` of attempts,
judgments and edits (three index lookups) tells whether the facts changed. If they did, the attempts written
since are read from SQLite by `rev` (indexed) into a small second part, and their old rows in the big part are
masked out — no copy of the big arrays; past MAX_PATCH_ROWS patched rows (a big import), the mirror is
refreshed and everything re-read from it. Then (and after a curator's decision or a policy activation) the
`human_decisions` table is read from SQLite and the rows split into decided and undecided by id lookups.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from picobanana.analytics.mirror import Mirror
from picobanana.store import Policy, Store, active_policy
from picobanana.store.policies import EPSILON, SUBSCORES
from picobanana.store.verdicts import effective_verdict_sql
from picobanana.taxonomy import CATEGORIES

VERDICTS = ("keep", "fail", "pending")
MAX_PATCH_ROWS = 50_000  # more patched attempts than this: re-read everything from the mirror
N_GROUPS = len(CATEGORIES) + 1  # category ids 1..8, and 0 for attempts without a category


@dataclass(frozen=True)
class Part:
    """Judged attempts of the population (turn 1, outside chains), sorted by category, findable by id."""

    ids: np.ndarray
    categories: np.ndarray
    subscores: tuple[np.ndarray, ...]
    bounds: np.ndarray  # bounds[c]:bounds[c + 1] is category c's slice
    sorted_ids: np.ndarray
    by_id: np.ndarray  # positions of sorted_ids in the arrays

    @classmethod
    def build(cls, ids: np.ndarray, categories: np.ndarray, subscores: list[np.ndarray]) -> Part:
        order = np.argsort(categories, kind="stable")  # cheaper than ORDER BY in SQL
        ids, categories = ids[order], categories[order]
        by_id = np.argsort(ids, kind="stable")
        return cls(ids, categories, tuple(x[order] for x in subscores),
                   np.searchsorted(categories, np.arange(N_GROUPS + 1)), ids[by_id], by_id)

    @classmethod
    def empty(cls) -> Part:
        return cls.build(np.empty(0, np.int64), np.empty(0, np.int64), [np.empty(0) for _ in SUBSCORES])

    def __len__(self) -> int:
        return len(self.ids)

    def find(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions of the wanted ids that are here, mask over `wanted` of those found)."""
        if not len(self.ids) or not len(wanted):
            return np.empty(0, np.int64), np.zeros(len(wanted), dtype=bool)
        at = np.minimum(np.searchsorted(self.sorted_ids, wanted), len(self.ids) - 1)
        found = self.sorted_ids[at] == wanted
        return self.by_id[at[found]], found


@dataclass
class Snapshot:
    """What a slider move needs at one store revision: the sub-scores of the judged attempts (a big part read
    from the mirror, a small part patched from SQLite), and the counts no policy can change."""

    revision: int
    facts_key: tuple
    decisions_key: tuple
    active: Policy  # the active policy at this revision
    big: Part
    big_live: np.ndarray  # False where a row was superseded by the small part
    small: Part
    unjudged: dict[str, np.ndarray]  # id, category, verdict code (from the status) of the unjudged attempts
    open_big: np.ndarray | None = None  # live and without a human decision: what a policy moves
    open_small: np.ndarray | None = None
    fixed: dict[tuple[int, str], int] | None = None  # (category, verdict) → attempts no policy changes

    def parts(self) -> tuple[tuple[Part, np.ndarray], tuple[Part, np.ndarray]]:
        assert self.open_big is not None and self.open_small is not None
        return (self.big, self.open_big), (self.small, self.open_small)


class LiveMirror:
    """One workspace's mirror (for dashboards: `fresh()`) and slider snapshot (`snapshot()`).

    Safe to share between the studio's worker threads: updates are serialised here, each DuckDB query runs on
    its own cursor, and a published snapshot is never modified.
    """

    def __init__(self, workspace: Path):
        self.workspace = Path(workspace)
        # Its own connection, usable from any worker thread (every use is under self._lock).
        self._store = Store.open(self.workspace, check_same_thread=False)
        self._mirror = Mirror.open(self._store)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self.baselines: dict[tuple, tuple] = {}  # cached scorings of a baseline policy (see tuning.py)

    def fresh(self) -> Mirror:
        """The mirror, brought up to the store's current revision (a single lookup when nothing changed)."""
        with self._lock:
            self._mirror.refresh()
        return self._mirror

    def active_policy(self) -> Policy:
        return self.snapshot().active

    def close(self) -> None:
        with self._lock:
            self._mirror.close()
            self._store.close()

    def snapshot(self) -> Snapshot:
        """The slider snapshot at the store's current revision."""
        with self._lock:
            store = self._store
            revision = store.revision
            old = self._snapshot
            if old is not None and old.revision == revision:
                return old
            # Rows are never deleted and every write stamps a newer rev, so these maxima change iff a row did.
            facts_key = tuple(store.conn.execute(
                "SELECT (SELECT max(rev) FROM attempts), (SELECT max(rev) FROM judgments), "
                "(SELECT max(rev) FROM edits)").fetchone())
            decisions_key = tuple(store.conn.execute(
                "SELECT count(*), max(review_id) FROM human_decisions").fetchone())
            active = active_policy(store)
            if old is not None and old.facts_key == facts_key:
                snap = Snapshot(revision, facts_key, decisions_key, active, old.big, old.big_live, old.small,
                                old.unjudged)
                if old.decisions_key == decisions_key:
                    snap.open_big, snap.open_small, snap.fixed = old.open_big, old.open_small, old.fixed
            else:
                snap = (self._patch(old, revision, facts_key, decisions_key, active) if old else None) \
                    or self._read(revision, facts_key, decisions_key, active)
            if snap.fixed is None:
                self._split_by_decisions(snap)
                self.baselines.clear()
            self._snapshot = snap
            return snap

    def _read(self, revision: int, facts_key: tuple, decisions_key: tuple, active: Policy) -> Snapshot:
        """Every fact from the (refreshed) mirror: columnar, the fast way to read a million rows."""
        self._mirror.refresh()
        cur = self._mirror.cursor()
        judged = cur.execute(
            f"SELECT a.id, coalesce(a.category_id, 0) AS category, {', '.join(f'a.{n}' for n in SUBSCORES)} "
            f"FROM attempt_facts a WHERE a.turn = 1 AND a.chain_id IS NULL AND a.attempt_id IS NOT NULL"
        ).fetchnumpy()
        # Unjudged attempts: their verdict comes from the status, by the one definition (no judgment, no human).
        unjudged = cur.execute(
            f"SELECT a.id, coalesce(a.category_id, 0) AS category, "
            f"{effective_verdict_sql(Policy(), 'a', 'a', 'nobody')} AS verdict "
            f"FROM attempt_facts a, (SELECT NULL::VARCHAR AS verdict) nobody "
            f"WHERE a.turn = 1 AND a.chain_id IS NULL AND a.attempt_id IS NULL").fetchnumpy()
        big = Part.build(np.asarray(judged["id"], np.int64), np.asarray(judged["category"], np.int64),
                         [np.asarray(judged[n], np.float64) for n in SUBSCORES])
        return Snapshot(revision, facts_key, decisions_key, active, big, np.ones(len(big), dtype=bool),
                        Part.empty(), {"id": np.asarray(unjudged["id"], np.int64),
                                       "category": np.asarray(unjudged["category"], np.int64),
                                       "verdict": codes(np.asarray(unjudged["verdict"]))})

    def _patch(self, old: Snapshot, revision: int, facts_key: tuple, decisions_key: tuple,
               active: Policy) -> Snapshot | None:
        """The old snapshot with the attempts written since it was taken read from SQLite by `rev` (indexed);
        None when too many changed (then a full read from the mirror is cheaper)."""
        conn = self._store.conn
        changed = np.array([r[0] for r in conn.execute(
            "SELECT id FROM attempts WHERE rev > :r UNION SELECT attempt_id FROM judgments WHERE rev > :r "
            "UNION SELECT a.id FROM edits e JOIN attempts a ON a.edit_id = e.id WHERE e.rev > :r LIMIT :n",
            {"r": old.revision, "n": MAX_PATCH_ROWS + 1})], dtype=np.int64)
        if len(changed) + len(old.small) > MAX_PATCH_ROWS:
            return None
        # Unjudged attempts take their verdict from the status: the one definition, judgment and decision absent.
        absent = ("(SELECT NULL AS attempt_id, NULL AS category_id, "
                  + ", ".join(f"NULL AS {n}" for n in SUBSCORES) + ") nj, (SELECT NULL AS verdict) nobody")
        rows = conn.execute(
            f"SELECT a.id, coalesce(a.category_id, 0), j.attempt_id IS NOT NULL, "
            f"{', '.join(f'j.{n}' for n in SUBSCORES)}, {effective_verdict_sql(Policy(), 'a', 'nj', 'nobody')} "
            f"FROM attempts a JOIN edits e ON e.id = a.edit_id LEFT JOIN judgments j ON j.attempt_id = a.id, "
            f"{absent} WHERE a.id IN (SELECT value FROM json_each(?)) AND a.turn = 1 AND e.chain_id IS NULL",
            (json.dumps(changed.tolist()),)).fetchall()
        judged = [r for r in rows if r[2]]
        unjudged = [r for r in rows if not r[2]]
        big_live = old.big_live.copy()
        big_live[old.big.find(changed)[0]] = False
        kept = ~np.isin(old.small.ids, changed)
        small = Part.build(
            np.concatenate([old.small.ids[kept], np.array([r[0] for r in judged], np.int64)]),
            np.concatenate([old.small.categories[kept], np.array([r[1] for r in judged], np.int64)]),
            [np.concatenate([x[kept], np.array([r[3 + i] for r in judged], np.float64)])
             for i, x in enumerate(old.small.subscores)])
        stay = ~np.isin(old.unjudged["id"], changed)
        return Snapshot(revision, facts_key, decisions_key, active, old.big, big_live, small, {
            "id": np.concatenate([old.unjudged["id"][stay], np.array([r[0] for r in unjudged], np.int64)]),
            "category": np.concatenate([old.unjudged["category"][stay],
                                        np.array([r[1] for r in unjudged], np.int64)]),
            "verdict": np.concatenate([old.unjudged["verdict"][stay],
                                       codes(np.array([r[7] for r in unjudged], dtype=object))])})

    def _split_by_decisions(self, snap: Snapshot) -> None:
        """Human decisions win: count the decided attempts by their human verdict, the unjudged undecided ones
        by their status, and mark the judged undecided ones (the part a policy moves)."""
        rows = self._store.conn.execute("SELECT attempt_id, verdict FROM human_decisions ORDER BY attempt_id")
        decided = np.array(rows.fetchall(), dtype=object).reshape(-1, 2)
        decided_ids = decided[:, 0].astype(np.int64)
        decided_verdicts = codes(decided[:, 1].astype(str))
        fixed = np.zeros((N_GROUPS, len(VERDICTS)), dtype=np.int64)
        opened = []
        for part, live in ((snap.big, snap.big_live), (snap.small, np.ones(len(snap.small), dtype=bool))):
            at, found = part.find(decided_ids)
            live_at = live[at]
            np.add.at(fixed, (part.categories[at][live_at], decided_verdicts[found][live_at]), 1)
            open_ = live.copy()
            open_[at] = False
            opened.append(open_)
        snap.open_big, snap.open_small = opened
        unjudged = snap.unjudged
        if len(decided_ids):
            at = np.minimum(np.searchsorted(decided_ids, unjudged["id"]), len(decided_ids) - 1)
            hit = decided_ids[at] == unjudged["id"]
            np.add.at(fixed, (unjudged["category"][hit], decided_verdicts[at[hit]]), 1)
        else:
            hit = np.zeros(len(unjudged["id"]), dtype=bool)
        np.add.at(fixed, (unjudged["category"][~hit], unjudged["verdict"][~hit]), 1)
        snap.fixed = {(c, v): int(fixed[c, i]) for c in range(N_GROUPS) for i, v in enumerate(VERDICTS)
                      if fixed[c, i]}


def score(snap: Snapshot, policy: Policy, margin: float, was_keep: tuple | None = None) -> tuple[tuple, dict]:
    """Keep flags per part of the judged attempts under `policy` (False where a human decided), and per
    category over the undecided ones: judged, keep, borderline and (given a baseline's flags) the flips."""
    flags = []
    counts: dict[int, dict[str, int]] = {}
    for p, (part, open_) in enumerate(snap.parts()):
        keep = np.zeros(len(part), dtype=bool)
        for category in range(N_GROUPS):
            lo, hi = int(part.bounds[category]), int(part.bounds[category + 1])
            if lo == hi:
                continue
            rule_category = category or None
            w = policy.weights_for(rule_category).as_tuple()
            comp, seam, pres, qual = (x[lo:hi] for x in part.subscores)
            # Same operations in the same order as Policy.score_sql, so ties land where SQL puts them.
            scores = w[0] * comp + w[1] * seam + w[2] * pres + w[3] * qual
            threshold = policy.threshold_for(rule_category) - EPSILON
            moving = open_[lo:hi]
            kept = keep[lo:hi] = (scores >= threshold) & moving
            row = counts.setdefault(category, dict.fromkeys(("judged", "keep", "borderline", "to_keep",
                                                             "to_fail"), 0))
            row["judged"] += int(moving.sum())
            row["keep"] += int(kept.sum())
            row["borderline"] += int(((np.abs(scores - threshold) < margin) & moving).sum())
            if was_keep is not None:
                was = was_keep[p][lo:hi]
                row["to_keep"] += int((kept & ~was).sum())
                row["to_fail"] += int((was & ~kept).sum())
        flags.append(keep)
    return tuple(flags), counts


def codes(verdicts: np.ndarray) -> np.ndarray:
    """Verdict strings → their index in VERDICTS."""
    out = np.full(len(verdicts), VERDICTS.index("pending"), dtype=np.int64)
    for i, name in enumerate(VERDICTS):
        out[verdicts == name] = i
    return out


_LIVE: dict[Path, LiveMirror] = {}
_LIVE_LOCK = threading.Lock()


def live_mirror(workspace: str | Path) -> LiveMirror:
    """The process-wide LiveMirror of a workspace (opened on first use, then kept open)."""
    key = Path(workspace).resolve()
    with _LIVE_LOCK:
        if key not in _LIVE:
            _LIVE[key] = LiveMirror(key)
        return _LIVE[key]
