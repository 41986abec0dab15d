from picobanana.cli.main import cli

cli()
