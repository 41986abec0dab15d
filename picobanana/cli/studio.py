"""`picobanana serve` (the curation studio) and `picobanana user ...` (the curator accounts it logs in with)."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from picobanana.cli.context import AppContext, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. 127.0.0.1, localhost or ::1 open without login; any other address "
                   "(e.g. 0.0.0.0 for every interface) makes curators log in with a `picobanana user` account.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True, help="Port to listen on.")
@click.option("--auth/--no-auth", default=None,
              help="--auth asks for a login on localhost too. Without it, login is required exactly when the "
                   "address is not loopback; --no-auth on such an address is refused.")
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Serve over HTTPS with this certificate (PEM), so that passwords and sessions are encrypted on "
                   "the network; needs --ssl-keyfile.")
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The certificate's private key (PEM).")
@pass_app
def serve(app: AppContext, host: str, port: int, auth: bool | None, ssl_certfile: str | None,
          ssl_keyfile: str | None) -> None:
    """Open the curation studio (a web app) on the workspace: browse, review, tune policies, generate, export.

    With the defaults it listens on http://127.0.0.1:7860 for this machine only, and decisions carry the
    configured curator name (`curator` in picobanana.toml, default $USER). To let colleagues in, create
    accounts with `picobanana user add NAME` and start it with `--host 0.0.0.0`: every curator then logs in and
    every decision carries their name. Stop it with Ctrl-C. `python app.py` does the same as this command.
    """
    from picobanana.studio import StudioContext
    from picobanana.studio import serve as serve_studio
    from picobanana.studio.server import is_loopback, login_required

    if bool(ssl_certfile) != bool(ssl_keyfile):
        raise click.UsageError("--ssl-certfile and --ssl-keyfile go together")
    ctx = StudioContext.from_settings(app.settings)
    needs_login = login_required(host, auth)  # refuses --no-auth beyond loopback before anything starts
    if ctx.store().scalar("SELECT 1 FROM attempts LIMIT 1") is None:
        click.echo("The workspace has no edits yet: `picobanana demo` makes some in about 30 s, "
                   "`picobanana import FILE` loads released ones.", err=True)
    who = "curators log in with their accounts" if needs_login else f"decisions are made as {app.settings.curator!r}"
    click.echo(f"picobanana studio on workspace {ctx.workspace}; {who}. Ctrl-C stops it.", err=True)
    if needs_login and not ssl_certfile and not is_loopback(host):
        click.echo("Note: without --ssl-certfile/--ssl-keyfile, passwords cross the network unencrypted; use "
                   "HTTPS (or a TLS reverse proxy) outside a trusted network.", err=True)
    # ssl_verify=False only concerns Gradio's own start-up request to itself on 127.0.0.1, which a certificate
    # for the real host name (or a self-signed one) would fail; browsers still verify the certificate.
    try:
        serve_studio(ctx, host=host, port=port, auth=auth, block=True, ssl_certfile=ssl_certfile,
                     ssl_keyfile=ssl_keyfile, ssl_verify=False)
    except OSError as exc:  # Gradio's "Cannot find empty port", an address that is not ours
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc


@click.group()
def user() -> None:
    """Curator accounts for the studio's login: add, list, passwd, disable, enable, remove.

    Passwords are asked for twice at a hidden prompt (or read from the first line of standard input with
    --password-stdin), never taken as an argument, and stored only as salted scrypt hashes in the workspace.
    """


def _read_password(password_stdin: bool, prompt: str = "Password") -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


_password_stdin = click.option("--password-stdin", is_flag=True,
                               help="Read the password from the first line of standard input (for scripts), "
                                    "instead of prompting.")


@user.command("add")
@click.argument("name")
@_password_stdin
@pass_app
def user_add(app: AppContext, name: str, password_stdin: bool) -> None:
    """Create a curator account NAME (1-64 letters, digits, '.', '_', '-'); password of 8+ characters."""
    from picobanana.curation.accounts import add_curator, check_name

    check_name(name)  # before the prompt: a bad name should not cost the user a password twice
    password = _read_password(password_stdin)
    with app.open_store() as store:
        add_curator(store, name, password)
    app.console.print(f"curator {name} added; they can log in to `picobanana serve --host 0.0.0.0`")


@user.command("list")
@pass_app
def user_list(app: AppContext) -> None:
    """List the curator accounts, when each was created and whether it is disabled."""
    from picobanana.curation.accounts import list_curators

    with app.open_store() as store:
        curators = list_curators(store)
    if not curators:
        app.console.print("no curator accounts (picobanana user add NAME creates one)")
        return
    table = Table("curator", "created", "password changed", "status")
    for c in curators:
        table.add_row(c.name, c.created_at, c.password_changed_at, "disabled" if c.disabled else "active")
    app.console.print(table)


@user.command("passwd")
@click.argument("name")
@_password_stdin
@pass_app
def user_passwd(app: AppContext, name: str, password_stdin: bool) -> None:
    """Set a new password for curator NAME (sessions already logged in stay until they log out or restart)."""
    from picobanana.curation.accounts import require_curator, set_password

    with app.open_store() as store:
        require_curator(store, name)  # an unknown name fails before the prompt
        set_password(store, name, _read_password(password_stdin, "New password"))
    app.console.print(f"password of {name} changed")


@user.command("disable")
@click.argument("name")
@pass_app
def user_disable(app: AppContext, name: str) -> None:
    """Stop curator NAME from logging in; a running studio ends their open sessions within seconds. Their name
    stays on everything they decided."""
    from picobanana.curation.accounts import set_disabled

    with app.open_store() as store:
        set_disabled(store, name, True)
    app.console.print(f"curator {name} disabled (picobanana user enable {name} undoes it)")


@user.command("enable")
@click.argument("name")
@pass_app
def user_enable(app: AppContext, name: str) -> None:
    """Let a disabled curator NAME log in again."""
    from picobanana.curation.accounts import set_disabled

    with app.open_store() as store:
        set_disabled(store, name, False)
    app.console.print(f"curator {name} enabled")


@user.command("remove")
@click.argument("name")
@click.confirmation_option(prompt="Remove this account? (disable keeps the name reserved; remove frees it)",
                           help="Do not ask for confirmation.")
@pass_app
def user_remove(app: AppContext, name: str) -> None:
    """Delete curator account NAME (open sessions end too). Past decisions keep the name; prefer `disable`, which
    keeps the name reserved."""
    from picobanana.curation.accounts import remove_curator

    with app.open_store() as store:
        remove_curator(store, name)
    app.console.print(f"curator {name} removed")


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(user)
