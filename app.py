"""Start the picobanana studio on the default workspace: `python app.py` (same as `picobanana serve`).

Every option of `picobanana serve` works here too (`python app.py --host 0.0.0.0 --port 8080`), and so do the
global ones (`python app.py -w /big/disk/ws`). Settings come from picobanana.toml and PICOBANANA_* variables
(workspace, curator); see the README.
"""

from picobanana.cli.main import cli

GLOBAL_OPTIONS = ("-w", "--workspace", "-c", "--config")  # options of `picobanana` itself, not of `serve`


def split_arguments(args: list[str]) -> tuple[list[str], list[str]]:
    """(global options, serve options): `picobanana` takes its own options before the command name."""
    before, after, rest = [], [], list(args)
    while rest:
        arg = rest.pop(0)
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            before.append(arg)
            if "=" not in arg and rest:
                before.append(rest.pop(0))
        else:
            after.append(arg)
    return before, after


if __name__ == "__main__":
    import sys

    global_args, serve_args = split_arguments(sys.argv[1:])
    cli.main(args=[*global_args, "serve", *serve_args], prog_name="app.py")
