"""The local dashboard (``trialwise ui``): a read-only FastAPI app over the store.

``create_app`` builds it (see :mod:`trialwise.ui._app` for its security design); ``serve`` runs it
with uvicorn.  FastAPI, uvicorn and Jinja2 load only when the dashboard starts.
"""

from __future__ import annotations

from pathlib import Path

TOKEN_ENV = "TRIALWISE_UI_TOKEN"
"""Environment variable holding the dashboard's token (instead of ``--token`` on the command line)."""


def serve(store_url: str, root: Path, *, host: str, port: int, token: str | None) -> None:
    """Run the dashboard until interrupted."""
    import uvicorn

    from trialwise.ui._app import create_app

    app = create_app(store_url, root, host=host, port=port, token=token)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["TOKEN_ENV", "serve"]
