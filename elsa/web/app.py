"""The labelling web app: an ASGI (Starlette) layer over :class:`~elsa.session.Session`.

It holds no search logic: every endpoint calls one Session method and returns JSON.
Everything the page needs ships in ``elsa/web/static`` (no CDN: the machine may be
offline).

Safety
------
* Images are served by item id only (``/api/image/{id}``, at most 18 digits); the id is
  looked up in the session's item table. No part of a request is ever used as a path.
* With a token (required when binding anything but loopback), every request must carry
  it: the ``X-Elsa-Token`` header, or for page loads and images a cookie set when the
  page was opened with ``?token=...``. Requests that change state accept the header only,
  so a cookie alone (which a browser attaches to cross-site requests) is never enough.
* On loopback without a token, requests that change state must be JSON with an
  ``X-Elsa-Client`` header (a cross-site form cannot send either without a CORS
  preflight, which this app never approves), and the Host header must be a loopback
  name, which defeats DNS rebinding.

Bad requests
------------
Every refused request gets a 4xx with a JSON ``{"error": "..."}`` that names the field and
its value (cut to 80 characters), never a traceback. Bodies are read up to ``MAX_BODY``
(1 MiB, far above a whole batch of ids): a longer one is refused with 413 on its
Content-Length before it is read, or as soon as it grows past the limit. A body must be a
JSON object (no NaN or Infinity); ids are JSON whole numbers (not ``"5"``, ``5.0`` or
``true``); labels are strings.
"""

from __future__ import annotations

import anyio

import hmac
import json
import re
import threading
import time
from http import HTTPStatus
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._io import jsonable
from .._validation import is_integer, short_repr
from ..session.labels import normalise_label
from ..session.transfer import FORMATS, render_labels
from ..exceptions import ConflictError, ElsaError, InputError, ParameterError, StorageError

STATIC = Path(__file__).parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
_SAFE_METHODS = ("GET", "HEAD")
MAX_BODY = 1 << 20  # bytes
MAX_EPOCHS = 1000  # one "continue" adds at most this many
MAX_QUERY = 200  # characters of a search-box query
WAITERS = 8  # long polls waiting for the next batch at once (each holds a thread of its own)
AT_WORK_S = 60  # a labeller whose page asked for the state this recently shares the page
_PATH_ID = re.compile(r"[0-9]{1,18}")  # below SQLite's int64 and Python's int() digit limit


def _error(exc: Exception) -> JSONResponse:
    if isinstance(exc, ConflictError):
        return JSONResponse({"error": str(exc), "item": exc.item, "current": exc.current}, 409)
    if isinstance(exc, StorageError):
        return JSONResponse({"error": str(exc)}, 507)
    if isinstance(exc, (ParameterError, InputError)):
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse({"error": str(exc)}, 500)


def _whole(value, field: str, what: str = "an item id") -> int:
    """``value``, read from JSON ``field``, as an id: a JSON whole number, not ``true``, ``5.0`` or ``"5"``."""
    if not is_integer(value):
        raise InputError(f"{field!r} must be {what} (a whole number), got {short_repr(value)}")
    return value


async def _body(request: Request) -> dict:
    """The JSON object in the request body, read no further than ``MAX_BODY`` bytes."""
    length = request.headers.get("content-length", "")
    too_large = HTTPException(413, f"the request body is over {MAX_BODY} bytes")
    if re.fullmatch(r"[0-9]+", length) and (len(length) > 12 or int(length) > MAX_BODY):
        raise too_large
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise too_large

    def no_constant(name):
        raise ValueError(f"{name} is not a JSON number")

    try:
        doc = json.loads(raw, parse_constant=no_constant)
    except ValueError as exc:  # UnicodeDecodeError included
        raise InputError(f"the request body is not JSON: {str(exc)[:160]}") from None
    except RecursionError:
        raise InputError("the request body is not JSON that can be read: it is nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(f"the request body must be a JSON object, got {short_repr(doc)}")
    return doc


def _http_error(request: Request, exc: HTTPException) -> Response:
    """Starlette's own refusals (no such route, wrong method, too large) as JSON errors."""
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    error = exc.detail
    if error == HTTPStatus(exc.status_code).phrase:
        error = f"{error}: {request.method} {short_repr(request.url.path)}"
    return JSONResponse({"error": error}, exc.status_code, headers=exc.headers)


def _internal_error(request: Request, exc: Exception) -> Response:
    """The last resort (a bug): a JSON 500 without the traceback (Starlette re-raises it for the server's log)."""
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); the labeller's log has the details"}, 500)


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
                return 421, f"this labeller answers on loopback names only, not {short_repr(host)}"
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


def user_of(request: Request) -> str | None:
    name = "".join(c for c in request.headers.get("x-elsa-user") or "" if c.isprintable()).strip()
    return name[:64] or None


def item_list(doc: dict) -> list[int]:
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        raise InputError(f"'items' must be a non-empty list of item ids, got {short_repr(items)}")
    return [_whole(item, f"items[{n}]") for n, item in enumerate(items)]


def name_list(doc: dict) -> list[str]:
    names = doc.get("names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise InputError(f"'names' must be a non-empty list of item names, got {short_repr(names)}")
    return names


def label_of(doc: dict, field: str) -> str | None:
    value = doc.get(field)
    if value is None and field == "expect":
        return None
    if isinstance(value, str):
        try:
            return normalise_label(value)
        except ParameterError:
            pass
    extra = " (or null: unlabelled)" if field == "expect" else ""
    raise InputError(f"{field!r} must be positive, negative or unsure (or y/n/u){extra}, got {short_repr(value)}")


class LabelApi:
    """The endpoints over one session: each parses its request, calls one Session method
    (in a worker thread) and returns JSON; an :class:`~elsa.exceptions.ElsaError` becomes
    a 4xx (:func:`_error`)."""

    def __init__(self, session):
        self.session = session
        self.waiters = anyio.CapacityLimiter(WAITERS)
        self.seen: dict[str, float] = {}  # labeller -> when their page last asked for the state
        self.seen_lock = threading.Lock()

    def share_of_page(self, user: str | None, items: list) -> tuple[list, list[str]]:
        """Several labellers on one page: each sees their own share of it first (items at
        positions ``k, k + m, ...`` for the ``k``-th of ``m`` labellers at work, by name), so
        they do not answer the same items; the rest follow. Returns the items and the other
        labellers at work (a page without a name is the session's user, as its answers are)."""
        now, me = time.monotonic(), user or self.session.user
        with self.seen_lock:
            self.seen[me] = now
            at_work = sorted(u for u, t in self.seen.items() if now - t < AT_WORK_S)
        if len(at_work) < 2:
            return items, []
        k, m = at_work.index(me), len(at_work)
        mine = [x for j, x in enumerate(items) if j % m == k]
        return mine + [x for j, x in enumerate(items) if j % m != k], [u for u in at_work if u != me]

    def path_item(self, request: Request) -> int:
        """The ``{item}`` of the path: 404 unless it is a registered item's id."""
        text = request.path_params["item"]
        if not _PATH_ID.fullmatch(text) or int(text) >= len(self.session.names):
            raise HTTPException(404, f"no item {short_repr(text)}: ids run from 0 to {len(self.session.names) - 1}")
        return int(text)

    def item_view(self, items) -> list[dict]:
        labels = self.session.item_labels(items)
        view = [{"id": int(i), "name": self.session.names[int(i)], **labels.get(int(i), {"label": None})} for i in items]
        if self.session.texts.available:  # a text session: each card's title, body and the terms it shares with the positives
            centroid = self.session.texts.centroid(self.session.positive_items())
            for entry in view:
                entry["text"] = self.session.texts.card(entry["id"], centroid)
        return view

    def state_doc(self, user: str | None = None) -> dict:
        rounds, items = self.session.shown_rounds()
        # "please check" cards: this user's second answers to give, shown blind (no earlier answer,
        # so the round's own tile of such an item is left out of this user's page)
        checks = self.session.checks.waiting_for(user)
        mine = {i for i, _ in checks}
        items, sharing = self.share_of_page(user, [(i, source) for i, source in items if i not in mine])
        view = self.item_view([i for i, _ in items])
        for entry, (_, source) in zip(view, items):
            entry["source"] = source
        for entry, (_, reason) in zip(self.item_view([i for i, _ in checks]), checks):
            view.append({**entry, "label": None, "event": None, "user": None, "at": None, "source": "check",
                         "check": reason})
        examples = [{"id": i, "name": self.session.names[i], "origin": origin} for i, origin in self.session.examples()]
        if self.session.texts.available:
            for ex in examples:
                ex["title"] = self.session.texts.card(ex["id"])["title"]
        # JSON has no NaN: an estimate not made yet (no random positive) is null
        return {"progress": jsonable(self.session.progress().as_dict()), "batch": view, "rounds": rounds,
                "images": self.session.images.available, "texts": self.session.texts.available, "examples": examples,
                "described": self.session.described is not None, "agreement": self.session.checks.agreement(),
                "sharing": sharing}

    async def state(self, request):
        # ?wait=S: a long poll. While the next batch is being computed, answer as soon as it is
        # ready (the background search wakes this wait), or after S seconds (at most 30); the
        # page asks this way instead of polling on a timer, so a new page shows at once.
        wait = request.query_params.get("wait")
        if wait is not None:
            try:
                seconds = float(wait)
            except ValueError:
                seconds = float("nan")
            if not 0 <= seconds <= 30:
                raise ParameterError(f"wait must be a number of seconds from 0 to 30, got {short_repr(wait)}")
            # On threads of their own (at most WAITERS at once; more queue here without a thread),
            # so waiting pages never hold the threads that answers, undo and images run on.
            await anyio.to_thread.run_sync(self.session.wait_for_batch, seconds, limiter=self.waiters)
        return JSONResponse(await run_in_threadpool(self.state_doc, user_of(request)))

    async def answer(self, request):
        doc = await _body(request)
        item, label, expect = _whole(doc.get("item"), "item"), label_of(doc, "label"), label_of(doc, "expect")
        event = await run_in_threadpool(self.session.answer, item, label, expect=expect, user=user_of(request),
                                        via=doc.get("via"))
        return JSONResponse({"event": event, "item": item})

    async def check(self, request):
        """A second answer to an item someone answered first (a "please check" card)."""
        return await self._item_label(request, self.session.check)

    async def resolve(self, request):
        """Settle a disagreement between two answers."""
        return await self._item_label(request, self.session.resolve)

    async def _item_label(self, request, method):
        """``{item, label}`` given to ``method(item, label, user=...)``; returns the answer's event."""
        doc = await _body(request)
        item, label = _whole(doc.get("item"), "item"), label_of(doc, "label")
        event = await run_in_threadpool(method, item, label, user=user_of(request))
        return JSONResponse({"event": event, "item": item})

    async def answer_many(self, request):
        doc = await _body(request)
        items, label, expect = item_list(doc), label_of(doc, "label"), label_of(doc, "expect")
        out = await run_in_threadpool(self.session.answer_many, items, label, expect=expect, user=user_of(request))
        return JSONResponse({"events": {str(k): v for k, v in out["events"].items()},
                             "conflicts": {str(k): v for k, v in out["conflicts"].items()}})

    async def undo(self, request):
        doc = await _body(request)
        event = doc.get("event")
        event = None if event is None else _whole(event, "event", "an event id")
        item, label = await run_in_threadpool(self.session.undo, event, user=user_of(request))
        return JSONResponse({"item": item, "label": label})

    async def seeds(self, request):
        doc = await _body(request)
        # by id (a tile's #), or by name (a record id, a file name: the page's seed box)
        items = item_list(doc) if "names" not in doc else self.session.finder.by_name(name_list(doc))
        added = await run_in_threadpool(self.session.add_seeds, items, user=user_of(request))
        return JSONResponse({"added": added, "items": items})

    async def find(self, request):
        """``?q=words``: the items whose text (or name) holds every word, as cards (the search box)."""
        query = request.query_params.get("q", "")
        if len(query) > MAX_QUERY:
            raise InputError(f"'q' is at most {MAX_QUERY} characters, got {len(query)}")
        limit = request.query_params.get("limit", "48")
        if not re.fullmatch(r"[0-9]{1,4}", limit):
            raise InputError(f"'limit' must be a whole number from 1 to 1000, got {short_repr(limit)}")
        ids = await run_in_threadpool(self.session.find, query, int(limit))
        return JSONResponse({"query": query, "items": self.item_view(ids)})

    async def similar(self, request):
        item = self.path_item(request)
        k = request.query_params.get("k", "24")
        if not re.fullmatch(r"[0-9]{1,4}", k):
            raise InputError(f"'k' must be a whole number from 1 to 1000, got {short_repr(k)}")
        ids = await run_in_threadpool(self.session.similar, item, int(k))
        return JSONResponse({"item": item, "items": self.item_view(ids)})

    async def listing(self, request):
        which = request.path_params["which"]
        if which == "unsure":
            ids = self.session.unsure_items()
        elif which == "positives":
            ids = self.session.positive_items()
        elif which == "disagreements":  # each with both answers and who gave them
            found = await run_in_threadpool(self.session.checks.disagreements)
            view = self.item_view([d["item"] for d in found])
            for entry, d in zip(view, found):
                entry["answers"] = [{k: d[w][k] for k in ("user", "label", "at")} for w in ("first", "second")]
            return JSONResponse({"items": view})
        else:
            return JSONResponse({"error": f"no list {short_repr(which)}; lists are unsure, positives and "
                                          "disagreements"}, 404)
        return JSONResponse({"items": self.item_view(ids)})

    async def image(self, request):
        item = self.path_item(request)
        size = request.query_params.get("size", "thumb")
        if size not in ("thumb", "full"):
            raise InputError(f"'size' is thumb or full, got {short_repr(size)}")
        try:
            data, media = await run_in_threadpool(self.session.images.encoded, item, size)
        except InputError as exc:
            return JSONResponse({"error": str(exc)}, 404)
        except OSError as exc:
            return JSONResponse({"error": f"item {item}: the image cannot be read ({exc})"}, 404)
        return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=3600"})

    async def export(self, request):
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            return JSONResponse({"error": f"no export format {short_repr(fmt)}; choose one of {', '.join(FORMATS)}"},
                                404)
        try:
            text, _ = await run_in_threadpool(render_labels, self.session.store, self.session.names, fmt, self.session.texts.records)
        except ParameterError as exc:  # RIS of a session of vectors
            return JSONResponse({"error": str(exc)}, 404)
        media = {"csv": "text/csv", "jsonl": "application/x-ndjson", "txt": "text/plain",
                 "ris": "application/x-research-info-systems"}[fmt]
        name = "positives.txt" if fmt == "txt" else f"labels.{fmt}"
        return Response(text, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def retry(self, request):
        await _body(request)
        await run_in_threadpool(self.session.retry)
        return JSONResponse({"status": self.session.status})

    async def extend(self, request):
        doc = await _body(request)
        epochs = _whole(doc.get("epochs", 5), "epochs", f"a number of epochs from 1 to {MAX_EPOCHS}")
        if not 1 <= epochs <= MAX_EPOCHS:
            raise InputError(f"'epochs' must be from 1 to {MAX_EPOCHS}, got {short_repr(epochs)}")
        await run_in_threadpool(self.session.extend, epochs)
        return JSONResponse({"epochs": self.session.settings["epochs"]})

    async def page(self, request):
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    def routes(self) -> list:
        return [
            Route("/", self.page),
            Route("/api/state", _api(self.state)),
            Route("/api/answer", _api(self.answer), methods=["POST"]),
            Route("/api/answer_many", _api(self.answer_many), methods=["POST"]),
            Route("/api/check", _api(self.check), methods=["POST"]),
            Route("/api/resolve", _api(self.resolve), methods=["POST"]),
            Route("/api/undo", _api(self.undo), methods=["POST"]),
            Route("/api/seeds", _api(self.seeds), methods=["POST"]),
            Route("/api/retry", _api(self.retry), methods=["POST"]),
            Route("/api/extend", _api(self.extend), methods=["POST"]),
            Route("/api/similar/{item}", _api(self.similar)),
            Route("/api/find", _api(self.find)),
            Route("/api/list/{which}", _api(self.listing)),
            Route("/api/image/{item}", _api(self.image)),
            Route("/api/export/{fmt}", _api(self.export)),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ]


def _api(handler):
    async def endpoint(request: Request):
        try:
            return await handler(request)
        except ElsaError as exc:
            return _error(exc)

    return endpoint


def create_app(session, *, token: str | None = None, loopback_only: bool = True) -> Starlette:
    """The app for ``session``. ``token``: required on every request when set."""
    return Starlette(
        routes=LabelApi(session).routes(),
        middleware=[Middleware(Guard, token=token, loopback_only=loopback_only)],
        exception_handlers={HTTPException: _http_error, Exception: _internal_error},
    )


__all__ = ["create_app"]
