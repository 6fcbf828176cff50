"""The labelling web app: an ASGI (Starlette) layer over :class:`~elsa.session.Session`.

It holds no search logic: every endpoint calls one Session method and returns JSON.
Everything the page needs ships in ``elsa/web/static`` (no CDN: the machine may be
offline).

Safety
------
* Images are served by item id only (``/api/image/{id:int}``); the id is looked up in
  the session's item table. No part of a request is ever used as a path.
* With a token (required when binding anything but loopback), every request must carry
  it: the ``X-Elsa-Token`` header, or for page loads and images a cookie set when the
  page was opened with ``?token=...``. Requests that change state accept the header only,
  so a cookie alone (which a browser attaches to cross-site requests) is never enough.
* On loopback without a token, requests that change state must be JSON with an
  ``X-Elsa-Client`` header (a cross-site form cannot send either without a CORS
  preflight, which this app never approves), and the Host header must be a loopback
  name, which defeats DNS rebinding.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..session.transfer import FORMATS, render_labels
from ..exceptions import ConflictError, ElsaError, InputError, ParameterError, StorageError

STATIC = Path(__file__).parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
_SAFE_METHODS = ("GET", "HEAD")


def _error(exc: Exception) -> JSONResponse:
    if isinstance(exc, ConflictError):
        return JSONResponse({"error": str(exc), "item": exc.item, "current": exc.current}, 409)
    if isinstance(exc, StorageError):
        return JSONResponse({"error": str(exc)}, 507)
    if isinstance(exc, (ParameterError, InputError)):
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse({"error": str(exc)}, 500)


class Guard:
    """ASGI middleware: the token and same-origin checks described in the module docstring."""

    def __init__(self, app, token: str | None, loopback_only: bool):
        self.app = app
        self.token = token
        self.loopback_only = loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        problem = self._check(request)
        if problem is not None:
            return await JSONResponse({"error": problem[1]}, problem[0])(scope, receive, send)
        if self.token and request.query_params.get("token") and request.url.path == "/":
            # Opening the printed link: remember the token in a cookie for images and reloads.
            async def send_with_cookie(message):
                if message["type"] == "http.response.start":
                    cookie = f"elsa_token={self.token}; Path=/; HttpOnly; SameSite=Strict"
                    message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
                await send(message)

            return await self.app(scope, receive, send_with_cookie)
        return await self.app(scope, receive, send)

    def _check(self, request: Request) -> tuple[int, str] | None:
        changes_state = request.method not in _SAFE_METHODS
        if self.loopback_only:
            host = (request.headers.get("host") or "").rsplit(":", 1)[0]
            if host not in LOOPBACK_NAMES:
                return 421, f"this labeller answers on loopback names only, not {host!r}"
        if self.token:
            given = request.headers.get("x-elsa-token")
            if given is None and not changes_state:
                given = request.cookies.get("elsa_token") or (
                    request.query_params.get("token") if request.url.path == "/" else None
                )
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                if changes_state and request.cookies.get("elsa_token"):
                    return 403, "changes need the access token in the X-Elsa-Token header"
                return 401, "access token missing or wrong: open the link elsa label printed"
        elif changes_state:
            if request.headers.get("x-elsa-client") is None or not request.headers.get("content-type", "").startswith(
                "application/json"
            ):
                return 403, "changes must come from the labelling page (JSON with an X-Elsa-Client header)"
        return None


def create_app(session, *, token: str | None = None, loopback_only: bool = True) -> Starlette:
    """The app for ``session``. ``token``: required on every request when set."""

    def user_of(request: Request) -> str | None:
        name = (request.headers.get("x-elsa-user") or "").strip()
        return name[:64] or None

    async def body(request: Request) -> dict:
        try:
            doc = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise InputError("the request body is not JSON") from None
        if not isinstance(doc, dict):
            raise InputError("the request body must be a JSON object")
        return doc

    def item_list(doc: dict) -> list:
        items = doc.get("items")
        if not isinstance(items, list) or not items:
            raise InputError("'items' must be a non-empty list of item ids")
        return items

    def item_view(items) -> list[dict]:
        labels = session.item_labels(items)
        return [{"id": int(i), "name": session.names[int(i)], **labels.get(int(i), {"label": None})} for i in items]

    def state_doc() -> dict:
        rounds, items = session.shown_rounds()
        view = item_view([i for i, _ in items])
        for entry, (_, source) in zip(view, items):
            entry["source"] = source
        return {"progress": session.progress().as_dict(), "batch": view, "rounds": rounds,
                "images": session.images.available}

    def api(handler):
        async def endpoint(request: Request):
            try:
                return await handler(request)
            except ElsaError as exc:
                return _error(exc)

        return endpoint

    @api
    async def state(request):
        return JSONResponse(await run_in_threadpool(state_doc))

    @api
    async def answer(request):
        doc = await body(request)
        event = await run_in_threadpool(
            session.answer, doc.get("item"), doc.get("label"), expect=doc.get("expect"), user=user_of(request)
        )
        return JSONResponse({"event": event, "item": doc.get("item")})

    @api
    async def answer_many(request):
        doc = await body(request)
        items = item_list(doc)
        out = await run_in_threadpool(
            session.answer_many, items, doc.get("label"), expect=doc.get("expect"), user=user_of(request)
        )
        return JSONResponse({"events": {str(k): v for k, v in out["events"].items()},
                             "conflicts": {str(k): v for k, v in out["conflicts"].items()}})

    @api
    async def undo(request):
        doc = await body(request)
        event = doc.get("event")
        if event is not None and not isinstance(event, int):
            raise InputError(f"'event' must be an event id, got {event!r}")
        item, label = await run_in_threadpool(session.undo, event, user=user_of(request))
        return JSONResponse({"item": item, "label": label})

    @api
    async def seeds(request):
        doc = await body(request)
        items = item_list(doc)
        added = await run_in_threadpool(session.add_seeds, items, user=user_of(request))
        return JSONResponse({"added": added})

    @api
    async def similar(request):
        item = request.path_params["item"]
        k = request.query_params.get("k", "24")
        if not k.isdigit():
            raise InputError(f"k must be a whole number, got {k!r}")
        ids = await run_in_threadpool(session.similar, item, int(k))
        return JSONResponse({"item": item, "items": item_view(ids)})

    @api
    async def listing(request):
        which = request.path_params["which"]
        if which == "unsure":
            ids = session.unsure_items()
        elif which == "positives":
            ids = session.positive_items()
        else:
            return JSONResponse({"error": f"no list {which!r}; lists are unsure and positives"}, 404)
        return JSONResponse({"items": item_view(ids)})

    @api
    async def image(request):
        item = request.path_params["item"]
        if not 0 <= item < len(session.names):
            return JSONResponse({"error": f"no item {item}"}, 404)
        size = request.query_params.get("size", "thumb")
        if size not in ("thumb", "full"):
            raise InputError(f"size is thumb or full, got {size!r}")
        try:
            data, media = await run_in_threadpool(session.images.encoded, item, size)
        except InputError as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except OSError as exc:
            return JSONResponse({"error": f"item {item}: the image cannot be read ({exc})"}, 404)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    @api
    async def export(request):
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            return JSONResponse({"error": f"no export format {fmt!r}; choose one of {', '.join(FORMATS)}"}, 404)
        text, _ = await run_in_threadpool(render_labels, session.store, session.names, fmt)
        media = {"csv": "text/csv", "jsonl": "application/x-ndjson", "txt": "text/plain"}[fmt]
        name = "positives.txt" if fmt == "txt" else f"labels.{fmt}"
        return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @api
    async def retry(request):
        await body(request)
        await run_in_threadpool(session.retry)
        return JSONResponse({"status": session.status})

    @api
    async def extend(request):
        doc = await body(request)
        epochs = doc.get("epochs", 5)
        if not isinstance(epochs, int):
            raise InputError(f"'epochs' must be a whole number, got {epochs!r}")
        await run_in_threadpool(session.extend, epochs)
        return JSONResponse({"epochs": session.settings["epochs"]})

    async def page(request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def not_found(request, exc):
        return PlainTextResponse("not found", 404)

    routes = [
        Route("/", page),
        Route("/api/state", state),
        Route("/api/answer", answer, methods=["POST"]),
        Route("/api/answer_many", answer_many, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
        Route("/api/seeds", seeds, methods=["POST"]),
        Route("/api/retry", retry, methods=["POST"]),
        Route("/api/extend", extend, methods=["POST"]),
        Route("/api/similar/{item:int}", similar),
        Route("/api/list/{which}", listing),
        Route("/api/image/{item:int}", image),
        Route("/api/export/{fmt}", export),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token, loopback_only=loopback_only)],
        exception_handlers={404: not_found},
    )


__all__ = ["create_app"]
