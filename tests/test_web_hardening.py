"""The labelling web app never answers 500: every bad request gets a 4xx with a JSON error.

Regression tests for what a fuzzing review found, then a deterministic fuzz of every endpoint.
"""

import asyncio
import json
import random
from urllib.parse import unquote

import numpy as np
import pytest

from elsa.exceptions import ConflictError, InputError
from elsa.web.app import MAX_BODY, create_app

pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402
from test_web import PAGE, folder_pool, session  # noqa: E402,F401  (the fixtures)

JSON = {**PAGE, "content-type": "application/json"}


def client(s, **kw):
    return TestClient(create_app(s, **kw), base_url="http://127.0.0.1:8765", raise_server_exceptions=False)


def post_raw(c, path, text):
    return c.post(path, content=text.encode() if isinstance(text, str) else text, headers=JSON)


def refused(r, status=400, *words):
    """``r`` is a JSON error with ``status`` whose message holds every one of ``words``."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    error = r.json()["error"]
    assert isinstance(error, str) and len(error) < 300, error
    for word in words:
        assert word in error, (word, error)
    return error


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN", "1e400", "-1e400"])
def test_infinite_and_overflowing_ids_are_refused(session, number):
    s, _ = session
    c = client(s)
    refused(post_raw(c, "/api/answer", f'{{"item": {number}, "label": "y"}}'))
    refused(post_raw(c, "/api/answer_many", f'{{"items": [3, {number}], "label": "n"}}'))
    refused(post_raw(c, "/api/seeds", f'{{"items": [{number}]}}'))
    assert s.item_labels([3]) == {}  # nothing of a refused batch is written
    for bad in (float("inf"), float("-inf"), float("nan"), 1e400):
        with pytest.raises(InputError, match="item ids are whole numbers"):
            s.answer(bad, "y")
        with pytest.raises(InputError, match="item ids are whole numbers"):
            s.add_seeds([bad])


def test_ids_of_the_wrong_type_are_refused_not_converted(session):
    s, _ = session
    c = client(s)
    for bad, shown in [("5", "'5'"), (1.5, "1.5"), (5.0, "5.0"), (True, "True"), (None, "None"), ([5], "[5]"),
                       ({"id": 5}, "{'id': 5}")]:
        error = refused(c.post("/api/answer", json={"item": bad, "label": "y"}, headers=PAGE), 400,
                        "'item'", "whole number", shown)
        assert error == f"'item' must be an item id (a whole number), got {shown}"
        refused(c.post("/api/answer_many", json={"items": [6, bad], "label": "n"}, headers=PAGE), 400,
                "'items[1]'", shown)
        refused(c.post("/api/seeds", json={"items": [bad]}, headers=PAGE), 400, "'items[0]'", shown)
    assert s.item_labels([1, 5, 6]) == {}
    for bad in ("5", 1.5, 5.0, True, np.bool_(True), np.float64(5)):
        with pytest.raises(InputError, match="item ids are whole numbers"):
            s.answer(bad, "y")
    # The library still takes numpy integers, alone or in arrays.
    assert s.answer(np.int64(5), "y") > 0 and s.answer(np.uint8(6), "n") > 0
    assert s.add_seeds(np.array([[7], [8]])) == [7, 8]
    assert sorted(s.answer_many(np.array([9, 10], np.int32), "n")["events"]) == [9, 10]
    assert len(s.similar(np.int16(40), k=np.int64(2))) == 2


def test_undo_of_an_event_id_outside_sqlites_range_is_no_such_answer(session):
    s, _ = session
    c = client(s)
    for event in (2**63, -(2**63) - 1, 10**30, -1, 0, 10**18):
        refused(c.post("/api/undo", json={"event": event}, headers=PAGE), 400, "no answer with event id")
        with pytest.raises(InputError, match="no answer with event id"):
            s.undo(event)
    for bad, shown in [(True, "True"), ("1", "'1'"), (1.0, "1.0"), ([1], "[1]")]:
        refused(c.post("/api/undo", json={"event": bad}, headers=PAGE), 400, "'event'", "whole number", shown)
        with pytest.raises(InputError, match="event ids are whole numbers"):
            s.undo(bad)
    assert s.positive_items().tolist() == [40, 41]  # `true` did not undo event 1 (a seed)


def test_deep_nesting_is_refused_and_bodies_are_bounded(session):
    s, _ = session
    c = client(s)
    for deep in ("[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000):
        refused(post_raw(c, "/api/answer", deep), 400, "JSON")
    big = json.dumps({"item": 1, "label": "y", "pad": "x" * (10 * MAX_BODY)})
    refused(post_raw(c, "/api/answer", big), 413, "bytes")
    assert s.item_labels([1]) == {}
    refused(post_raw(c, "/api/answer_many", json.dumps({"items": [1] * (MAX_BODY // 2), "label": "n"})), 413)
    # A whole batch of ids is far below the limit.
    assert post_raw(c, "/api/answer_many", json.dumps({"items": list(range(60)), "label": "n"})).status_code == 200


def asgi_post(app, path, chunks, headers=()):
    """A POST straight to the ASGI app with its body in ``chunks`` (an iterable); returns
    (status, response JSON, number of chunks the app read)."""
    chunks = iter(chunks)
    read, sent = [0], []

    async def receive():
        chunk = next(chunks, None)
        read[0] += chunk is not None
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:8765"), (b"x-elsa-client", b"test"),
                         (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8765)}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:])), read[0]


def test_the_body_is_read_no_further_than_the_limit(session):
    s, _ = session
    app = create_app(s)

    def endless():  # 10 MiB, as far as the app reads
        yield b'{"item": 1, "label": "y", "pad": "'
        for _ in range(160):
            yield b"x" * 65536
        yield b'"}'

    status, doc, read = asgi_post(app, "/api/answer", endless())  # no Content-Length: counted while read
    assert status == 413 and "error" in doc and read <= MAX_BODY // 65536 + 2
    status, doc, read = asgi_post(app, "/api/answer", endless(), [(b"content-length", b"%d" % (MAX_BODY + 1))])
    assert status == 413 and read == 0  # refused on its Content-Length, before reading
    status, doc, read = asgi_post(app, "/api/answer", endless(), [(b"content-length", b"9" * 5000)])
    assert status == 413 and read == 0


def test_ints_past_pythons_digit_limit_in_paths_and_queries(session):
    s, _ = session
    c = client(s)
    huge = "9" * 4301
    refused(c.get(f"/api/image/{huge}"), 404, "no item")
    refused(c.get(f"/api/similar/{huge}"), 404, "no item")
    refused(c.get(f"/api/similar/{huge}?k=3"), 404, "no item")
    refused(c.get("/api/similar/5?k=" + "9" * 5000), 400, "'k'")
    refused(c.get("/api/similar/5?k=" + "9" * 10), 400, "'k'")
    refused(c.get("/api/similar/5?k=\u00b2"), 400, "'k'")  # a digit to str.isdigit, not to int()
    refused(c.get("/api/similar/\u0665?k=3"), 404, "no item")  # an Arabic-Indic five
    for bad in ("-1", "60", "9" * 19, "5.0", "0x10", "%20"):
        refused(c.get(f"/api/image/{bad}"), 404, "no item")
        refused(c.get(f"/api/similar/{bad}"), 404, "no item")
    assert c.get("/api/image/041").status_code == 200 and c.get("/api/similar/41?k=2").status_code == 200


def test_a_second_undo_of_the_same_event_says_it_was_already_taken_back(session):
    s, _ = session
    c = client(s)
    item = int(s.advance().ids[0])
    event = c.post("/api/answer", json={"item": item, "label": "u"}, headers=PAGE).json()["event"]
    assert c.post("/api/undo", json={"event": event}, headers=PAGE).status_code == 200
    error = refused(c.post("/api/undo", json={"event": event}, headers=PAGE), 409, "already taken back", str(event))
    assert "answered again" not in error
    # Answered again since the event, and the event itself never taken back: that message stays.
    first = s.answer(item, "u")
    s.answer(item, "n", expect="unsure")
    with pytest.raises(ConflictError, match=f"item {item} was answered again since event {first}"):
        s.undo(first)


def test_labels_epochs_lists_and_headers_of_every_kind_get_a_named_4xx(session):
    s, _ = session
    c = client(s)
    for field, value in [("label", 1), ("label", True), ("label", None), ("label", [1]), ("label", {"y": 1}),
                         ("label", "maybe"), ("label", "y" * 100_000), ("expect", []), ("expect", {}),
                         ("expect", 0), ("expect", False), ("expect", "nope")]:
        doc = {"item": 2, "label": "y", field: value}
        error = refused(c.post("/api/answer", json=doc, headers=PAGE), 400, repr(field))
        assert len(error) < 250  # never the whole value back
        refused(c.post("/api/answer_many", json={"items": [2], "label": "y", field: value}, headers=PAGE), 400,
                repr(field))
    assert s.item_labels([2]) == {}
    for value in (10**30, 2**63, -1, 0, True, 2.5, "5", None, [5]):
        refused(c.post("/api/extend", json={"epochs": value}, headers=PAGE), 400, "'epochs'")
    refused(c.post("/api/answer_many", json={"items": [[1, 2]], "label": "y"}, headers=PAGE), 400, "'items[0]'")
    refused(c.post("/api/answer_many", json={"items": {"0": 1}, "label": "y"}, headers=PAGE), 400, "'items'")
    refused(c.post("/api/seeds", json={"items": []}, headers=PAGE), 400, "'items'")
    for doc in ([1], "x", 5, None):
        refused(post_raw(c, "/api/retry", json.dumps(doc)), 400, "JSON object")
    refused(post_raw(c, "/api/answer", b'{"item": 1, "label": "\xff"}'), 400, "JSON")
    refused(post_raw(c, "/api/answer", ""), 400, "JSON")
    long = "z" * 5000
    for path in (f"/api/list/{long}", f"/api/export/{long}", f"/api/image/41?size={long}", f"/api/{long}",
                 f"/static/{long}", "/api/nothing", "/static/nothing.js"):
        r = c.get(path)
        assert 400 <= r.status_code < 500 and len(r.json()["error"]) < 250, path
    refused(c.get("/api/state", headers={"host": "h" * 5000}), 421, "loopback")
    refused(c.get("/api/answer"), 405)  # the wrong method
    refused(c.put("/api/state", headers=JSON), 405)
    for user in (b"\xff\xfe", b"\x00\x01bell\x07", "ann".encode() * 100, b"  ", "\u00e9".encode()):
        r = c.post("/api/answer", json={"item": 3, "label": "y"}, headers={**PAGE, "X-Elsa-User": user})
        assert r.status_code in (200, 409), r.text
    users = [u for (u,) in s.store.query("SELECT user FROM events WHERE item = 3")]
    assert len(users) == 1 and users[0].isprintable() and 0 < len(users[0]) <= 64


def test_a_bug_is_a_json_500_without_a_traceback(session, monkeypatch):
    s, _ = session

    def broken():
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(s, "progress", broken)
    r = client(s).get("/api/state")
    assert r.status_code == 500 and "ZeroDivisionError" in r.json()["error"] and "Traceback" not in r.text


# --- fuzz --------------------------------------------------------------------------------

_KEYS = ["item", "items", "label", "expect", "event", "epochs", "k", "", "\u00e9", "x" * 300]
_STRINGS = ["", "y", "n", "u", "positive", "negative", "unsure", "skip", "?", "5", "-1", "1e400", "NaN", "true",
            "null", "..", "../secret.txt", "%2e%2e", "\x00", "\ud83d\ude00", "\u0665", "\u00b2", "z" * 5000]
_NUMBERS = [0, 1, 5, 41, 59, 60, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 10**4000, 0.5, -0.0, 5.0,
            1e308, float("inf"), float("-inf"), float("nan")]


def _value(rng: random.Random, depth: int = 0):
    """A random JSON-ish value, nested a few levels."""
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind in (1, 2):
        return rng.choice(_NUMBERS) if rng.random() < 0.5 else rng.randrange(-3, 70)
    if kind == 3:
        return rng.choice(_STRINGS)
    if kind == 4:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(20)))
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {rng.choice(_KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def _doc(rng: random.Random):
    """A body for a POST endpoint: usually an object with the fields the API reads, plausible or not."""
    doc = {}
    for key, plausible in [("item", lambda: rng.randrange(-2, 62)), ("items", lambda: rng.sample(range(60), 3)),
                           ("label", lambda: rng.choice(["y", "n", "u"])), ("expect", lambda: rng.choice([None, "u"])),
                           ("event", lambda: rng.randrange(1, 40)), ("epochs", lambda: rng.randrange(1, 4))]:
        if rng.random() < 0.7:
            doc[key] = plausible() if rng.random() < 0.75 else _value(rng)
    return doc


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind < 5:
        return json.dumps(_doc(rng)).encode()  # NaN and Infinity as JavaScript writes them
    if kind == 5:
        return json.dumps(_value(rng)).encode()
    if kind == 6:
        text = json.dumps(_doc(rng)).encode()
        at = rng.randrange(len(text) + 1)
        return text[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"", b"}", b"\\u"]) + text[at:]
    if kind == 7:
        return rng.choice([b"", b"{", b"null", b"[]", b"item=1&label=y", b"\xef\xbb\xbf{}", b'{"item": 1} x',
                           b'{"item": 00}', b'{"item": 1_0}', b'{"item": +1}', b'{"item": .5}'])
    if kind == 8:
        depth = rng.choice([50, 900, 1100, 5000, 100_000])
        return (rng.choice([b"[", b'{"a":', b'{"items":[']) * depth)[: MAX_BODY]
    return bytes(rng.randrange(256) for _ in range(rng.randrange(200)))


def _segment(rng: random.Random) -> str:
    return rng.choice(["0", "5", "41", "59", "60", "-1", "-0", "007", "9" * 19, "9" * 4301, "1" * 5000, "5.0",
                       "1e3", "0x10", "..", "%2e%2e", "%2F..%2F", "%00", "%ff", "%", "%C2%B2", "%D9%A5",
                       "positives", "unsure", "csv", "jsonl", "txt", "index.html", "app.js", "app.css",
                       "%E2%80%AE", "a" * 300, "", " 5", "5 ", "+5"])


def _query(rng: random.Random) -> str:
    key = rng.choice(["k", "size", "token", "k", "", "%ff"])
    value = rng.choice(["3", "0", "-1", "1000", "1001", "9" * 5000, "\u00b2", "%C2%B2", "thumb", "full", "FULL",
                        "", "%ff", "x" * 3000, "1.5", "24"])
    return f"{key}={value}" + (f"&{key}=5" if rng.random() < 0.2 else "")


def _request(rng: random.Random):
    """(method, raw path with query, headers, body chunks) for one random request."""
    posts = ["/api/answer", "/api/answer_many", "/api/undo", "/api/seeds", "/api/retry", "/api/extend"]
    gets = ["/api/state", "/", "/api/similar/{}", "/api/list/{}", "/api/image/{}", "/api/export/{}", "/static/{}",
            "/api/{}", "/{}", "/api/image/{}/{}", "/static/{}/{}"]
    if rng.random() < 0.55:
        method, path = rng.choice(["POST"] * 12 + ["PUT", "DELETE", "PATCH", "GET"]), rng.choice(posts)
        body = _body(rng)
    else:
        method = rng.choice(["GET"] * 10 + ["HEAD", "POST", "OPTIONS"])
        path = rng.choice(gets).format(_segment(rng), _segment(rng))
        if rng.random() < 0.5:
            path += "?" + _query(rng)
        body = _body(rng) if rng.random() < 0.1 else b""
    headers = [(b"host", rng.choice([b"127.0.0.1:8765"] * 20 + [b"localhost", b"[::1]:1", b"evil.example", b"",
                                     b"h" * 5000, b"\xff:\xff"]))]
    if rng.random() < 0.95:
        headers.append((b"x-elsa-client", b"fuzz"))
    headers.append((b"content-type", rng.choice([b"application/json"] * 30 + [
        b"application/json; charset=latin-1", b"application/json; charset=utf-16", b"text/plain",
        b"application/x-www-form-urlencoded", b""])))
    if rng.random() < 0.3:
        headers.append((b"x-elsa-user", rng.choice([b"ann", b"\xff\xfe", b"\x00\x07", b" " * 80, b"u" * 500,
                                                    "\u00e9".encode(), b""])))
    if rng.random() < 0.2:
        headers.append((b"content-length", rng.choice([b"%d" % len(body), b"0", b"-1", b"abc", b"9" * 5000,
                                                       b"%d" % (MAX_BODY + 1)])))
    if rng.random() < 0.1:
        headers.append((b"cookie", rng.choice([b"elsa_token=x", b"elsa_token", b"=;=;;", b"\xff=\xff"])))
    if rng.random() < 0.05:  # files answer a bad Range in Starlette's plain text (not checked as JSON below)
        headers.append((b"range", rng.choice([b"bytes=0-1", b"bytes=abc", b"bytes=5-1", b"bytes=-" + b"9" * 5000,
                                              b"bytes=0-0," * 500, b"items=0-1"])))
    if rng.random() < 0.1:
        headers.append((b"x-elsa-token", rng.choice([b"secret-token", b"wrong", b"\xff", b""])))
    step = rng.choice([len(body) or 1, 65536] + ([1, 7] if len(body) < 4096 else []))  # as a server delivers it
    chunks = [body[i : i + step] for i in range(0, len(body), step)] or [b""]
    return method, path, headers, chunks


async def _call(app, method, path, headers, chunks) -> int:
    raw, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": unquote(raw), "raw_path": raw.encode(), "root_path": "",
             "query_string": query.encode(), "headers": headers, "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8765)}
    todo, sent = list(chunks), []

    async def receive():
        if todo:
            chunk = todo.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(todo)}
        await asyncio.sleep(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    if start["status"] >= 400 and method != "HEAD" and not any(k == b"range" for k, _ in headers):
        doc = json.loads(body)
        assert isinstance(doc["error"], str) and len(doc["error"]) < 400, (path, doc)
    return start["status"]


def test_fuzz_every_endpoint_answers_4xx_never_5xx(session):
    s, _ = session
    s.advance()
    apps = [create_app(s), create_app(s, token="secret-token", loopback_only=False)]
    rng = random.Random(20240517)
    requests = 3000  # a fixed number, not a time limit, so every run sends the same ones (about 3 s on two cores)
    statuses, failures = {}, []

    async def run():
        for _ in range(requests):
            app = apps[rng.random() < 0.1]
            method, path, headers, chunks = _request(rng)
            try:
                status = await _call(app, method, path, headers, chunks)
            except Exception as exc:  # an exception out of the app, or a 4xx that is not a JSON error
                failures.append((method, path[:100], headers, b"".join(chunks)[:200], repr(exc)[:300]))
                continue
            statuses[status] = statuses.get(status, 0) + 1
            if status >= 500:
                failures.append((method, path[:100], headers, b"".join(chunks)[:200], status))

    asyncio.run(run())
    assert not failures, failures[:5]
    assert sum(statuses.values()) == requests and statuses.get(200, 0) > 50 and statuses.get(400, 0) > 100, statuses
    assert client(s).get("/api/state").status_code == 200
