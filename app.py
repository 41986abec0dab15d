"""Start the picobanana studio on the default workspace: `python app.py` (same as `picobanana serve`).

Options come from picobanana.toml and PICOBANANA_* variables (workspace, curator); see the README.
"""

from picobanana.cli.main import cli

if __name__ == "__main__":
    import sys

    cli.main(args=["serve", *sys.argv[1:]], prog_name="app.py")
