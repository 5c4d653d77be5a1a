"""``shuangyong serve`` and ``shuangyong server token add|list|revoke``.

Every ``shuangyong`` command imports this module (docs/plugins.md): it imports click and
shuangyong's command-line helpers only. FastAPI, uvicorn and the server's modules are imported
when ``serve`` runs, the store (sqlite3) when a ``token`` command does.
"""

from __future__ import annotations

import getpass
import json
import socket
import uuid
from typing import TYPE_CHECKING

import click

from shuangyong import InputError, Text, hookimpl
from shuangyong.cli.base import (
    codes_option,
    exit_on_error,
    fail,
    lang,
    ledger_option,
    policy_option,
    say,
    strict_option,
)

if TYPE_CHECKING:
    from shuangyong_server.store import ServerStore
    from shuangyong_server.tokens import Actor

#: the roles, as in :data:`shuangyong_server.tokens.ROLES` (kept here so that --help costs no import)
ROLE_NAMES = ("his", "office", "auditor", "admin")

store_option = click.option(
    "--store", "store_url", envvar="SHUANGYONG_SERVER_STORE", default="sqlite:///shuangyong-server.sqlite3",
    show_default=True, metavar="URL",
    help="The server's own database (tokens, audit log, idempotency records): sqlite:///FILE. "
         "Env: SHUANGYONG_SERVER_STORE.")


class Size(click.ParamType):
    """A size in bytes, written ``10M``, ``512K`` or as a number."""

    name = "size"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The size in bytes; a bad one is a usage error naming the option."""
        if isinstance(value, int):
            return value
        from shuangyong_server.settings import parse_size  # light; here to keep --help from importing it

        try:
            return parse_size(str(value))
        except InputError as error:
            self.fail(error.message.in_(lang()), param, ctx)


def _operator() -> Actor:
    """Who runs a ``token`` command, for the audit log: the operating-system user, at the command line."""
    from shuangyong_server.tokens import Actor  # sqlite3 and the store: only for the token commands

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return Actor(name=f"cli:{user}", role=None, request_id=uuid.uuid4().hex)


def _store(url: str, *, create: bool) -> ServerStore:
    from shuangyong_server.store import ServerStore  # sqlite3: only for the token commands

    with exit_on_error():
        return ServerStore(url, create=create)


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port``, made here so that ``serve`` can print the port
    it got (``--port 0``). Its protocol is ``IPPROTO_TCP``, not the 0 ``socket.create_server``
    gives: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on the connections of a
    socket that says TCP, and with it on, an answer's body waited for the client's delayed ACK,
    40 ms on every request of a kept connection (benchmarks/RESULTS.md, "Server under load")."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM,
                              socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart while old connections close
        listening.bind((host, port))
        listening.listen(socket.SOMAXCONN)
    except OSError:
        listening.close()
        raise
    return listening


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``shuangyong serve`` and ``shuangyong server``."""

    @cli.command()
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on; behind a reverse proxy keep the loopback (docs/service.md).")
    @click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
                  help="TCP port; 0 picks a free one (printed on standard error).")
    @policy_option
    @ledger_option
    @store_option
    @click.option("--dossiers", "dossiers_url", envvar="SHUANGYONG_SERVER_DOSSIERS", metavar="URL",
                  help="Where the office's dossiers live: sqlite:///FILE, or PostgreSQL or MariaDB "
                       "(postgresql+psycopg://…, mysql+pymysql://…) through shuangyong-sql. Default: the --store "
                       "file. Env: SHUANGYONG_SERVER_DOSSIERS.")
    @codes_option
    @strict_option
    @click.option("--pseudonymise", is_flag=True,
                  help="Post patient ids as keyed hashes; the key comes from $SHUANGYONG_PSEUDONYM_KEY.")
    @click.option("--max-body", type=Size(), default="10M", show_default=True,
                  help="Longest request body (413 beyond): 10M, 512K, or bytes.")
    @click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
                  help="Seconds a body may take to arrive (408) and a request's work may take (503).")
    @click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True, metavar="IPS",
                  help="Proxies whose X-Forwarded-For/-Proto are believed (comma-separated, or *).")
    def serve(host: str, port: int, policies: tuple[str, ...], ledger_url: str | None, store_url: str,
              dossiers_url: str | None, codes: str | None, strict: bool, pseudonymise: bool, max_body: int,
              timeout: float, forwarded_allow_ips: str) -> None:
        """Answer hospital systems over HTTP: the JSON contract under /v1 (docs/service.md), and the
        双拥 office's pages under /office (docs/office.md)."""
        import uvicorn  # the server's modules only when it runs: every other command imports this module

        from shuangyong_server.app import create_app
        from shuangyong_server.office.server import office_for
        from shuangyong_server.service import Service
        from shuangyong_server.settings import ServerSettings

        settings = ServerSettings(policies=policies, ledger=ledger_url, store=store_url, dossiers=dossiers_url,
                                  codes=codes, strict=strict, pseudonymise=pseudonymise, max_body=max_body,
                                  timeout=timeout)
        with exit_on_error():
            service = Service.start(settings)
            app = create_app(service=service, routers=[office_for(service)])
        try:
            listening = listening_socket(host, port)
        except OSError as error:
            reason = error.strerror or str(error)
            fail(InputError(Text(f"无法在 {host}:{port} 上监听：{reason}", f"cannot listen on {host}:{port}: {reason}"),
                            field="--port", value=str(port)))
        bound = listening.getsockname()[1]
        say(Text(f"正在监听 http://{host}:{bound}", f"listening on http://{host}:{bound}"), err=True)
        config = uvicorn.Config(app, proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips,
                                server_header=False, timeout_keep_alive=5, log_level="info")
        uvicorn.Server(config).run(sockets=[listening])

    @cli.group()
    def server() -> None:
        """The HTTP server's API tokens (shuangyong-server)."""

    @server.group()
    def token() -> None:
        """Add, list and revoke the server's API tokens."""

    @token.command("add")
    @click.option("--role", type=click.Choice(ROLE_NAMES), required=True,
                  help="his: evaluate, explain, post; office: dossier, compliance; auditor: ledger, reports, "
                       "audit log; admin: tokens, audit log.")
    @click.option("--name", required=True, help="Who holds it (a system or a person): shown in the audit log.")
    @click.option("--unit", metavar="UNIT_ID",
                  help="An office token only: it sees and edits this unit's dossiers alone (a hospital's 双拥 "
                       "office). Without it an office token sees every unit (a health bureau's office).")
    @store_option
    def token_add(role: str, name: str, unit: str | None, store_url: str) -> None:
        """Make a token and print its secret, once: it is stored only as a hash."""
        from shuangyong_server.tokens import add_token  # sqlite3: only for the token commands

        store = _store(store_url, create=True)
        with exit_on_error():
            token, secret = add_token(store, name, role, _operator(), unit=unit)
        held = Text(f"，限单位 {unit}", f", unit {unit}") if unit is not None else Text("", "")
        say(Text(f"已为 {name}（{role}{held.zh}）新建令牌 {token.id}；密钥只显示这一次：",
                 f"token {token.id} made for {name} ({role}{held.en}); its secret is shown this once:"), err=True)
        click.echo(secret)  # alone on standard output: TOKEN=$(shuangyong server token add …)

    @token.command("list")
    @store_option
    @click.option("--revoked", is_flag=True, help="List revoked tokens too.")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    def token_list(store_url: str, revoked: bool, fmt: str) -> None:
        """The tokens: id, name, role, unit (* for none: every unit), when and by whom made (never a secret)."""
        from shuangyong_server.tokens import list_tokens  # sqlite3: only for the token commands

        store = _store(store_url, create=False)
        with exit_on_error():
            listed = list_tokens(store, revoked=revoked)
        if fmt == "json":
            click.echo(json.dumps({"tokens": [t.as_dict() for t in listed]}, ensure_ascii=False, indent=2))
            return
        for t in listed:
            click.echo("\t".join([t.id, t.name, t.role, t.unit or "*", t.created_at, t.created_by,
                                  *([f"revoked {t.revoked_at} by {t.revoked_by}"] if t.revoked_at else [])]))

    @token.command("revoke")
    @click.argument("name")
    @store_option
    def token_revoke(name: str, store_url: str) -> None:
        """Revoke the token NAME (or id): refused from now on; its row stays, for the audit log."""
        from shuangyong_server.tokens import revoke_token  # sqlite3: only for the token commands

        store = _store(store_url, create=False)
        with exit_on_error():
            revoked = revoke_token(store, name, _operator())
        say(Text(f"已吊销令牌 {revoked.id}（{revoked.name}）", f"token {revoked.id} ({revoked.name}) revoked"))
