"""Placeholder: being written."""


def register(cli) -> None:
    pass
