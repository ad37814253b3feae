"""`mimica serve` and `mimica tokens`: thin commands over mimica.web. Importing this module imports neither
FastAPI nor uvicorn (the main CLI imports it at start), so the `web` extra is only needed to run `serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mimica.errors import MimicaError
from mimica.models.registry import DEFAULT_MODEL

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option(
    "--data-dir", help="Database, uploads and reports.", show_default="$MIMICA_DATA_DIR or ~/.local/share/mimica/web")]

tokens_app = typer.Typer(name="tokens", no_args_is_help=True, help="API tokens for `mimica serve`.")


def _data_dir(path: Path | None) -> Path:
    from mimica.web.settings import default_data_dir

    return path if path is not None else default_data_dir()


def _store(path: Path | None):  # type: ignore[no-untyped-def]
    from mimica.web.store import Store

    return Store(_data_dir(path))


def serve(
    host: Annotated[str, typer.Option(help="Address to bind; anything but localhost exposes it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    data_dir: DataDir = None,
    model: Annotated[str, typer.Option(help="Shipped model name or a model card (.json) path.")] = DEFAULT_MODEL,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Scans at once; each uses about 2 cores.")] = 1,
    frames: Annotated[int, typer.Option(min=1, help="Frames sampled per video.")] = 32,
    max_upload_mb: Annotated[float, typer.Option(min=0.001, help="Largest upload, MB.")] = 500,
    max_duration_s: Annotated[float, typer.Option(min=0.1, help="Longest video, seconds.")] = 3600,
    max_megapixels: Annotated[float, typer.Option(min=0.01, help="Largest picture or video frame, MP.")] = 50,
    max_queue: Annotated[int, typer.Option(min=1, help="Scans waiting before uploads are refused (503).")] = 100,
    keep_uploads: Annotated[bool, typer.Option(help="Keep uploaded media after its scan.")] = False,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="No tokens needed (localhost only).")] = False,
    secure_cookies: Annotated[bool, typer.Option(help="Session cookie only over HTTPS (behind a TLS proxy).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the web app: upload page, scan history, reports, and a REST API (OpenAPI at /docs)."""
    from mimica.web.settings import LOCAL_HOSTS, MB, Settings

    if no_auth and host not in LOCAL_HOSTS:
        err.print(f"mimica: error: --no-auth is only allowed on localhost, not --host {host}; "
                  "create a token with `mimica tokens create` instead", markup=False)
        raise typer.Exit(2)
    try:
        import uvicorn

        from mimica.web.app import create_app
    except ImportError as e:
        raise MimicaError(f"`mimica serve` needs the web extra ({e.name} is missing): "
                          "pip install 'mimica[web]'") from e
    settings = Settings(
        data_dir=_data_dir(data_dir), model=model, frames=frames, workers=workers,
        max_upload_bytes=int(max_upload_mb * MB), max_duration_s=max_duration_s,
        max_pixels=int(max_megapixels * 1e6), max_queue=max_queue, auth=not no_auth, keep_uploads=keep_uploads,
        secure_cookies=secure_cookies,
    )
    from mimica.models import load_model

    load_model(model)  # a wrong --model fails here, in one line, before the server starts
    app = create_app(settings)
    store = app.state.store
    if settings.auth and store.active_tokens() == 0:
        err.print(f"mimica serve: no API token yet; create one with `mimica tokens create --data-dir "
                  f"{settings.data_dir}`", markup=False)
    err.print(f"mimica serve: http://{'[' + host + ']' if ':' in host else host}:{port} "
              f"(data in {settings.data_dir}, {workers} worker(s), model {model})", markup=False)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")


@tokens_app.command("create")
def tokens_create(
    data_dir: DataDir = None,
    name: Annotated[str, typer.Option(help="What the token is for (shown by `tokens list`).")] = "",
) -> None:
    """Create a token; it is printed once, alone on the last line, and only its hash is kept."""
    store = _store(data_dir)
    token_id, token = store.create_token(name)
    err.print(f"token {token_id}{f' ({name})' if name else ''} created in {store.data_dir}; "
              "store it now, it cannot be shown again:", markup=False)
    out.print(token, markup=False)


@tokens_app.command("list")
def tokens_list(data_dir: DataDir = None) -> None:
    """The tokens: id, name, first characters, dates, whether revoked."""
    from rich.table import Table

    rows = _store(data_dir).list_tokens()
    if not rows:
        err.print("no tokens; create one with `mimica tokens create`")
        return
    t = Table(box=None, pad_edge=False, show_edge=False)
    for col in ("id", "name", "starts", "created", "last used", "state"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r.id), r.name, r.prefix + "...", r.created_at[:19], (r.last_used_at or "never")[:19],
                  f"revoked {r.revoked_at[:19]}" if r.revoked_at else "active")
    out.print(t)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `mimica tokens list`).")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token: API calls with it and browser sessions opened with it stop working at once."""
    if not _store(data_dir).revoke_token(token_id):
        raise MimicaError(f"no active token {token_id}; see `mimica tokens list`")
    out.print(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    """Adds `serve` and `tokens` to the main CLI."""
    app.command("serve", short_help="Run the web app: uploads, history, reports and a REST API.")(serve)
    app.add_typer(tokens_app, name="tokens")
