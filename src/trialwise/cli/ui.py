"""ui: the local dashboard over the store."""

from __future__ import annotations

import os

import typer

from trialwise.cli._common import JsonOpt, console, context, esc, print_json

DEFAULT_PORT = 8765


def ui_cmd(
    port: int = typer.Option(DEFAULT_PORT, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind; anything but loopback needs --token."),
    token: str = typer.Option(None, help="Token every request must carry (default: $TRIALWISE_UI_TOKEN)."),
    as_json: bool = JsonOpt,
) -> None:
    """A read-only local dashboard: experiments, curves with seed bands (live while runs go), compare."""
    from trialwise._exceptions import UsageError
    from trialwise.store import resolve_store_url
    from trialwise.ui import TOKEN_ENV

    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("the dashboard needs FastAPI and uvicorn: pip install 'trialwise[ui]'") from None
    from trialwise.ui import serve

    ctx = context()
    token = token or os.environ.get(TOKEN_ENV) or None
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/" + (f"?token={token}" if token else "")
    if as_json:  # one line a supervisor can read before the server starts answering
        print_json({"url": url, "host": host, "port": port, "token": bool(token)})
    else:
        console.print(f"trialwise dashboard on [bold]{esc(url)}[/] (Ctrl-C stops it)", highlight=False)
    serve(resolve_store_url(ctx.root, ctx.config.store), ctx.root, host=host, port=port, token=token)


def register(command: object, app: object) -> None:
    command("ui", ui_cmd)  # type: ignore[operator]
