"""Why a generate job's work failed: its failed attempts and skipped edits, grouped by status and reason.

A group is (status, reason) with a count and a few example attempts. Statuses are the attempt's own
(`no_image`, `blocked`, `api_error`, `timeout`, `unsupported`, `invalid_input`, `error`), plus
`judged_fail` (an image the effective verdict fails: the job's policy or a curator), `not_judged` (an image
whose judge call failed) and `skipped` (an edit the writer found the image not eligible for; no attempt).

Reasons carry details that differ per call ("after 4 tries", a request id), so they are grouped by their
stable head; each example keeps the full text. A job's rows are found through their keys ("job<ID>:…",
see pipeline/keys.py): a range scan of the unique key index, never a scan of the attempts table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from picobanana.pipeline.jobs import get_job
from picobanana.store.db import Store
from picobanana.store.policies import active_policy, get_policy
from picobanana.store.verdicts import effective_verdict_sql
from picobanana.taxonomy import edit_type_by_id

_DETAIL = re.compile(r" \(after \d+ tries\)|\s+\[request [^\]]*\]")
REASON_CHARS = 120


@dataclass(frozen=True)
class FailureExample:
    attempt_id: int | None  # None for a skipped edit (it has no attempt)
    edit_id: int
    source_id: int
    edit_type: str
    turn: int
    reason: str  # in full


@dataclass
class FailureGroup:
    status: str
    reason: str
    count: int = 0
    examples: list[FailureExample] = field(default_factory=list)


def reason_head(reason: str | None, status: str) -> str:
    """The part of a reason that is the same for every occurrence of one cause."""
    if not reason:
        return status
    return _DETAIL.sub("", reason).strip()[:REASON_CHARS]


def _key_range(job_id: int) -> tuple[str, str]:
    prefix = f"job{job_id}:"
    return prefix, prefix[:-1] + ";"  # ';' sorts right after ':'


def _label(status: str, verdict: str, reason: str | None) -> tuple[str, str | None] | None:
    if status == "running":
        return None  # in flight: not a failure (yet)
    if status == "ok":
        if verdict == "fail":
            return "judged_fail", reason or "failed by a curator"
        if verdict == "pending" and reason:
            return "not_judged", reason
        return None
    return status, reason


def job_failures(store: Store, job_id: int, examples: int = 3) -> list[FailureGroup]:
    """Failure groups of a job, largest first.

    SQLite counts per (status, verdict, exact reason) with one example id each; Python merges those into
    reason heads. Groups left with fewer examples than asked get more from one small query each (on the key
    index: `+a.status` keeps SQLite off the status index, which would walk every 'ok' attempt of the store).
    """
    job = get_job(store, job_id)
    policy = get_policy(store, job.spec.policy) if job.spec.policy else active_policy(store)
    low, high = _key_range(job_id)
    verdict = effective_verdict_sql(policy, "a", "j", "h")
    groups: dict[tuple[str, str], FailureGroup] = {}
    example_ids: dict[tuple[str, str], list[int]] = {}
    raw_of: dict[tuple[str, str], list[tuple[str, str, str | None]]] = {}
    for status, v, reason, count, first in store.conn.execute(
            f"SELECT a.status, {verdict} AS v, a.failure_reason, COUNT(*), MIN(a.id) FROM attempts a "
            "LEFT JOIN judgments j ON j.attempt_id = a.id LEFT JOIN human_decisions h ON h.attempt_id = a.id "
            "WHERE a.key >= ? AND a.key < ? GROUP BY 1, 2, 3", (low, high)):
        labelled = _label(status, v, reason)
        if labelled is None:
            continue
        name = (labelled[0], reason_head(labelled[1], labelled[0]))
        groups.setdefault(name, FailureGroup(*name)).count += count
        example_ids.setdefault(name, []).append(first)
        raw_of.setdefault(name, []).append((status, v, reason))
    for name, ids in example_ids.items():
        if len(ids) < examples and groups[name].count > len(ids):
            status, v, reason = raw_of[name][0]
            more = store.conn.execute(
                f"SELECT a.id FROM attempts a LEFT JOIN judgments j ON j.attempt_id = a.id "
                f"LEFT JOIN human_decisions h ON h.attempt_id = a.id WHERE a.key >= ? AND a.key < ? "
                f"AND +a.status = ? AND a.failure_reason IS ? AND {verdict} = ? ORDER BY a.key LIMIT ?",
                (low, high, status, reason, v, examples)).fetchall()
            ids += [r[0] for r in more if r[0] not in ids]
        del ids[examples:]
    wanted = [i for ids in example_ids.values() for i in ids]
    details = {r[0]: r for r in store.conn.execute(
        f"SELECT a.id, a.edit_id, e.source_id, a.edit_type_id, a.turn, a.status, a.failure_reason FROM attempts a "
        f"JOIN edits e ON e.id = a.edit_id WHERE a.id IN ({', '.join('?' * len(wanted))})", wanted)} if wanted else {}
    for name, ids in example_ids.items():
        for i in ids:
            a_id, edit_id, source_id, type_id, turn, status, reason = details[i]
            groups[name].examples.append(FailureExample(a_id, edit_id, source_id, _type_name(type_id), turn,
                                                        reason or name[0]))
    for edit_id, source_id, type_id, turn, reason in store.conn.execute(
            "SELECT id, source_id, edit_type_id, turn, skip_reason FROM edits "
            "WHERE key >= ? AND key < ? AND skip_reason IS NOT NULL ORDER BY key", (low, high)):
        name = ("skipped", reason_head(reason, "skipped"))
        group = groups.setdefault(name, FailureGroup(*name))
        group.count += 1
        if len(group.examples) < examples:
            group.examples.append(FailureExample(None, edit_id, source_id, _type_name(type_id), turn, reason))
    return sorted(groups.values(), key=lambda g: (-g.count, g.status, g.reason))


def _type_name(edit_type_id: int | None) -> str:
    return edit_type_by_id(edit_type_id).name if edit_type_id is not None else "?"


__all__ = ["FailureExample", "FailureGroup", "job_failures", "reason_head"]
