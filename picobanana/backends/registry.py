"""Backend names → factories, per role. Built-ins register exactly like a plugin would.

    create_backend("editor", "local", {"...": ...})  →  an Editor

A factory is referenced as "module:attribute" and imported only when that backend is created, so choosing
the fake judge never imports the local backend's OpenCV/OCR stack. Plugins either call `register()` or
declare an entry point in the group `picobanana.backends` named "<role>.<name>" = "module:factory".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from picobanana.backends.base import ROLES
from picobanana.errors import ConfigError

_FACTORY_ATTR = {"writer": "create_writer", "rewriter": "create_rewriter", "editor": "create_editor",
                 "judge": "create_judge"}
_REGISTRY: dict[str, dict[str, str | Callable[..., Any]]] = {role: {} for role in ROLES}
_entry_points_loaded = False


def register(role: str, name: str, factory: str | Callable[..., Any]) -> None:
    """Register `factory(**options)` (or its "module:attr" path) as backend `name` for `role`."""
    if role not in _REGISTRY:
        raise ConfigError(f"unknown backend role {role!r}; roles: {', '.join(ROLES)}")
    _REGISTRY[role][name] = factory


for _name, _module in (("fake", "picobanana.backends.fake"), ("local", "picobanana.backends.local"),
                      ("vllm", "picobanana.backends.vllm"), ("gemini", "picobanana.backends.gemini")):
    for _role, _attr in _FACTORY_ATTR.items():
        register(_role, _name, f"{_module}:{_attr}")


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group="picobanana.backends"):
        role, _, name = ep.name.partition(".")
        if role in _REGISTRY and name:
            _REGISTRY[role].setdefault(name, ep.value)


def backend_names(role: str) -> list[str]:
    _load_entry_points()
    return sorted(_REGISTRY.get(role, {}))


def create_backend(role: str, name: str, options: dict[str, Any] | None = None) -> Any:
    _load_entry_points()
    factory = _REGISTRY.get(role, {}).get(name)
    if factory is None:
        raise ConfigError(f"no {role} backend named {name!r}; known: {', '.join(backend_names(role)) or 'none'}")
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"{role} backend {name!r} is not available: {exc}") from exc
    try:
        return factory(**(options or {}))
    except TypeError as exc:  # unknown or missing options: a configuration mistake, not a crash
        raise ConfigError(f"{role} backend {name!r} rejected its options {sorted(options or {})}: {exc}") from exc
