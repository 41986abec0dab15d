"""Every command explains itself, and the README documents every command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from conftest import REPO

from picobanana.cli.main import cli


def all_commands(group: click.Group = cli, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


COMMANDS = list(all_commands())


def test_there_are_commands():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"import", "export", "stats", "info", "policy activate", "review"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_exists_for_every_command(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    _, command = next(c for c in COMMANDS if c[0] == path)
    assert command.help and len(command.help.strip()) > 20, f"{' '.join(path)} has no real help text"


def test_readme_mentions_every_top_level_command():
    readme = (REPO / "README.md").read_text()
    missing = [name for name in cli.commands if f"picobanana {name}" not in readme]
    assert missing == []


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    result = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), "review", "12345", "keep"])
    assert result.exit_code == 2
    assert "Error: no attempt 12345" in result.output
