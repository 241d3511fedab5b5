"""The dashboard: a read-only FastAPI app over the store, pages rendered by Jinja2 (autoescaped),
charts drawn by Plotly from the JSON API under ``/api`` that the pages themselves use.

Security, by construction rather than by patch (tracker UIs have a long CVE record: path
traversal, SSRF, XSS, DNS rebinding):

- it binds 127.0.0.1 unless told otherwise, and any other address needs a token that every
  request must carry (``Authorization: Bearer``, or the ``tw_token`` cookie set when a page is
  opened with ``?token=``); a request without it gets 401;
- the ``Host`` header must name the bound address (or localhost): DNS rebinding gets 400;
- GET only, no CORS, ``nosniff``, a Content-Security-Policy that allows only this origin's scripts;
- request text never reaches the filesystem: paths carry ids checked against :data:`ID_RE`, and
  the only files served are this package's own static files, by fixed name; no pickle anywhere.
"""

import hmac
import ipaddress
from pathlib import Path
from typing import Any

# FastAPI reads the route functions' annotations at run time: these names must be module-level
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from trialwise.ui import TOKEN_ENV
from trialwise.ui._data import FILTERS, comparison, curves, experiment_detail, list_experiments, valid_id

PACKAGE_DIR = Path(__file__).parent
TOKEN_COOKIE = "tw_token"

STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
"""The package's own static files, served by fixed name."""

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
}
"""Sent with every response (Plotly injects its own <style> elements, hence inline styles)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(store_url: str, root: Path, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> Any:
    """The dashboard app for the store at ``store_url`` (repository ``root``)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from trialwise.store import connect

    if not is_loopback(host) and not token:
        from trialwise._exceptions import UsageError

        raise UsageError(f"the dashboard would listen on {host}, reachable from other machines, without a token: "
                         f"pass --token (or set {TOKEN_ENV}), or keep the default --host 127.0.0.1 and use "
                         "`ssh -L 8765:127.0.0.1:8765 HOST` from your laptop")
    store = connect(store_url)
    env = Environment(loader=FileSystemLoader(PACKAGE_DIR / "templates"), autoescape=select_autoescape(["html"]))
    app = FastAPI(title="trialwise", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    allowed = sorted({host, "localhost", "127.0.0.1", "[::1]", "::1"})
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return JSONResponse({"detail": "read-only: only GET"}, status_code=405, headers=SECURITY_HEADERS)
        if token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
                or request.cookies.get(TOKEN_COOKIE, "") or request.query_params.get("token", "")
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"detail": "missing or wrong token"}, status_code=401, headers=SECURITY_HEADERS)
        response = await call_next(request)
        for k, v in SECURITY_HEADERS.items():
            response.headers[k] = v
        if token and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    def page(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(**values))

    def checked(*ids: str) -> None:
        for value in ids:
            if not valid_id(value):
                raise HTTPException(400, "not an experiment or run id")

    # -- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request, sort: str = "created", desc: bool = True) -> HTMLResponse:
        filters = {k: request.query_params.get(k) for k in FILTERS}
        return page("index.html", rows=list_experiments(store, filters, sort, desc), filters=filters, sort=sort,
                    desc=desc, filter_names=FILTERS)

    @app.get("/experiments/{exp_id}", response_class=HTMLResponse, include_in_schema=False)
    def experiment_page(exp_id: str) -> HTMLResponse:
        checked(exp_id)
        detail = experiment_detail(store, exp_id)
        if detail is None:
            raise HTTPException(404, "no such experiment")
        return page("experiment.html", d=detail)

    @app.get("/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_page(a: str = "", b: str = "") -> HTMLResponse:
        rows = list_experiments(store, {})
        if a and b:
            checked(a, b)
        return page("compare.html", rows=rows, a=a, b=b)

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name == "plotly.js":
            return Response(_plotly_js(), media_type="text/javascript")
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return Response((PACKAGE_DIR / "static" / name).read_bytes(), media_type=STATIC_FILES[name])

    # -- JSON API -------------------------------------------------------------------------
    @app.get("/api/experiments")
    def api_experiments(request: Request, sort: str = "created", desc: bool = True) -> Any:
        """Experiments with status counts and metric mean ± std; filters as query parameters."""
        return list_experiments(store, {k: request.query_params.get(k) for k in FILTERS}, sort, desc)

    @app.get("/api/experiments/{exp_id}")
    def api_experiment(exp_id: str) -> Any:
        """One experiment: its runs (counted, running, history), command, launch and environments."""
        checked(exp_id)
        detail = experiment_detail(store, exp_id)
        if detail is None:
            raise HTTPException(404, "no such experiment")
        return detail

    @app.get("/api/experiments/{exp_id}/curves")
    def api_curves(exp_id: str) -> Any:
        """Every metric's per-step mean and 95% band over seeds, and each seed's curve."""
        checked(exp_id)
        found = curves(store, exp_id)
        if found is None:
            raise HTTPException(404, "no such experiment")
        return found

    @app.get("/api/compare")
    def api_compare(a: str, b: str) -> Any:
        """The verdict of experiment ``b`` against the baseline ``a``, and both experiments' curves."""
        checked(a, b)
        found = comparison(store, root, a, b)
        if found is None:
            raise HTTPException(404, "no such experiment")
        return found

    return app


_PLOTLY_JS: bytes | None = None


def _plotly_js() -> bytes:
    """Plotly's JS from the installed package, served from this origin (no CDN)."""
    global _PLOTLY_JS
    if _PLOTLY_JS is None:
        from plotly.offline import get_plotlyjs

        _PLOTLY_JS = get_plotlyjs().encode("utf-8")
    return _PLOTLY_JS
