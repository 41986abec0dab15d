"""The workspace: SQLite system of record + content-addressed image files."""

from picobanana.store.db import Store, utc_now
from picobanana.store.policies import (
    CategoryRule,
    Policy,
    Weights,
    activate_policy,
    active_policy,
    get_policy,
    list_policies,
    save_policy,
)
from picobanana.store.reviews import record_batch, record_review, review_history, undo_batch
from picobanana.store.verdicts import attempt_verdict

__all__ = [
    "CategoryRule",
    "Policy",
    "Store",
    "Weights",
    "activate_policy",
    "active_policy",
    "attempt_verdict",
    "get_policy",
    "list_policies",
    "record_batch",
    "record_review",
    "review_history",
    "save_policy",
    "undo_batch",
    "utc_now",
]
