"""Pico-Banana-400K edit taxonomy: 8 categories, 35 edit types, alias resolution."""

from .aliases import PAPER_ALIASES, UnknownEditType, resolve_edit_type
from .edit_types import (
    CATEGORIES,
    EDIT_TYPES,
    PAPER_SFT_TOTAL,
    Category,
    EditType,
    category_by_id,
    category_by_name,
    edit_type_by_id,
    edit_type_by_name,
    edit_type_by_slug,
    implied_category_id,
)

__all__ = [
    "CATEGORIES",
    "EDIT_TYPES",
    "PAPER_ALIASES",
    "PAPER_SFT_TOTAL",
    "Category",
    "EditType",
    "UnknownEditType",
    "category_by_id",
    "category_by_name",
    "edit_type_by_id",
    "edit_type_by_name",
    "edit_type_by_slug",
    "implied_category_id",
    "resolve_edit_type",
]
