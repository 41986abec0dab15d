"""What every studio tab receives: the settings, a store per worker thread, and who is asking."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from picobanana.config import Settings, load_settings
from picobanana.store import Store


@dataclass
class StudioContext:
    settings: Settings
    # Set by serve(): when True, every request must carry a logged-in curator (never the configured default).
    login_required: bool = False
    # Gradio runs callbacks in a pool of worker threads; an SQLite connection belongs to the thread that
    # opened it, so each thread gets its own (WAL lets them read while one writes).
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> StudioContext:
        return cls(settings or load_settings(**overrides))

    @property
    def workspace(self) -> Path:
        return Path(self.settings.workspace).resolve()

    def store(self) -> Store:
        opened = getattr(self._local, "store", None)
        if opened is None:
            opened = self._local.store = Store.open(self.workspace)
        return opened

    def curator(self, request: Any = None) -> str:
        """The logged-in curator's name; without login (localhost), the configured curator."""
        name = getattr(request, "username", None) if request is not None else None
        if name:
            return name
        if self.login_required:  # a request without a login here would be a bug: never guess who it was
            raise PermissionError("no logged-in curator on this request; log in again")
        return self.settings.curator
