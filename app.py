"""picobanana studio launcher.

The Gradio studio is not built yet (it is its own issue). Until it lands, `python app.py` shows what the
studio will open: the default workspace's contents and statistics, through the same library calls.
"""

from picobanana.cli.main import cli

if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    cli.main(args=args or ["stats"], prog_name="app.py")
