"""A short account of a workspace: what is in it and where (for `picobanana info` and the studio header)."""

from __future__ import annotations

from pydantic import BaseModel

from picobanana.store.db import DB_FILE_NAME, Store
from picobanana.store.policies import active_policy
from picobanana.store.schema import schema_version

_COUNTED = ("sources", "edits", "attempts", "judgments", "reviews", "human_decisions", "chains", "images",
            "import_files", "import_errors", "jobs", "policies")


class WorkspaceSummary(BaseModel):
    workspace: str
    database: str
    schema_version: int
    revision: int
    counts: dict[str, int]
    active_policy: str
    image_bytes: int


def summarize(store: Store) -> WorkspaceSummary:
    # MAX(rowid) would be O(1) but wrong after deletes; COUNT(*) on these tables is index-only and fast.
    counts = {table: int(store.scalar(f"SELECT COUNT(*) FROM {table}")) for table in _COUNTED}
    policy = active_policy(store)
    return WorkspaceSummary(
        workspace=str(store.workspace.resolve()),
        database=str((store.workspace / DB_FILE_NAME).resolve()),
        schema_version=schema_version(),
        revision=store.revision,
        counts=counts,
        active_policy=f"{policy.name}@{policy.version}",
        image_bytes=int(store.scalar("SELECT COALESCE(SUM(bytes), 0) FROM images")),
    )
