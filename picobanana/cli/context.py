"""What every command receives: the loaded settings and the consoles. Kept apart from main.py so that
command modules never import the command group (which imports them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from rich.console import Console

from picobanana.config import Settings


@dataclass
class AppContext:
    settings: Settings
    console: Console = field(default_factory=lambda: Console(stderr=False, highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))

    def open_store(self):
        from picobanana.store import Store

        return Store.open(self.settings.workspace)


pass_app = click.make_pass_decorator(AppContext)
