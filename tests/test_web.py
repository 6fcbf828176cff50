"""The labelling web app: API, safety, concurrency, and a real browser."""

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elsa.plan import SearchPlan
from elsa.session import Session
from elsa.web.app import create_app
from elsa.web.server import LiveServer, is_loopback

httpx = pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

PAGE = {"X-Elsa-Client": "test"}
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def folder_pool(tmp_path):
    """A folder of 60 small PNGs (40 dark, 20 bright) with its embeddings and manifest, like `elsa embed` writes."""
    rng = np.random.default_rng(3)
    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    names, X = [], []
    for i in range(60):
        bright = i >= 40
        pixels = rng.integers(150, 255, (16, 16, 3)) if bright else rng.integers(0, 100, (16, 16, 3))
        name = f"sub/{i:02d}.png" if i % 2 else f"{i:02d}.png"
        Image.fromarray(pixels.astype(np.uint8)).save(images / name)
        names.append(name)
        X.append(np.r_[pixels.mean() / 255, rng.normal(0, 0.05, 3)])
    np.save(tmp_path / "emb.npy", np.asarray(X, np.float32))
    (tmp_path / "emb.manifest.json").write_text(json.dumps({"source": str(images), "items": names}))
    (tmp_path / "secret.txt").write_text("not an image")
    return tmp_path, np.arange(60) >= 40


@pytest.fixture
def session(folder_pool):
    root, truth = folder_pool
    s = Session.create(root / "project", root / "emb.npy", SearchPlan("elsa", params={"a": 5, "b": 5, "l": 5}, epochs=3),
                       target="bright squares", seeds=[40, 41])
    yield s, truth
    s.close()


def client(session, **kw):
    return TestClient(create_app(session, **kw), base_url="http://127.0.0.1:8765")


def test_state_answer_conflict_undo_and_export(session):
    s, truth = session
    c = client(s)
    doc = c.get("/api/state").json()
    assert doc["progress"]["target"] == "bright squares" and doc["progress"]["seeds"] == 2
    s.advance()
    doc = c.get("/api/state").json()
    first = doc["batch"][0]
    assert first["label"] is None and first["name"] == s.names[first["id"]]
    r = c.post("/api/answer", json={"item": first["id"], "label": "y"}, headers={**PAGE, "X-Elsa-User": "ann"})
    assert r.status_code == 200
    event = r.json()["event"]
    r = c.post("/api/answer", json={"item": first["id"], "label": "n"}, headers=PAGE)
    assert r.status_code == 409 and r.json()["current"] == "positive" and "by ann" in r.json()["error"]
    assert c.get("/api/state").json()["batch"][0]["label"] == "positive"
    r = c.post("/api/answer_many", json={"items": [b["id"] for b in doc["batch"][:3]], "label": "n"}, headers=PAGE)
    assert r.json()["conflicts"] == {str(first["id"]): "positive"} and len(r.json()["events"]) == 2
    assert c.post("/api/undo", json={"event": event}, headers=PAGE).json() == {"item": first["id"], "label": None}
    csv = c.get("/api/export/csv").text.splitlines()
    assert csv[0] == "id,item,label,origin,user,at,answers" and len(csv) == 1 + 2 + 2  # seeds + two negatives
    assert c.get("/api/export/txt").text.split() == [s.names[40], s.names[41]]
    assert c.get("/api/export/xml").status_code == 404
    assert c.post("/api/answer", json={"item": 10_000, "label": "y"}, headers=PAGE).json()["error"].startswith("no item")
    assert c.post("/api/answer", content=b"{not json", headers={**PAGE, "content-type": "application/json"}).status_code == 400


def test_images_only_by_registered_id(session, folder_pool):
    s, truth = session
    c = client(s)
    r = c.get("/api/image/41")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    big = c.get("/api/image/41?size=full")
    assert Image.open(__import__("io").BytesIO(big.content)).size[0] > 16
    # Nothing from the request reaches the filesystem: only integer ids route at all.
    for raw in ["/api/image/../secret.txt", "/api/image/..%2F..%2Fsecret.txt", "/api/image//etc/passwd",
                "/api/image/%2Fetc%2Fpasswd", "/api/image/41/../../secret.txt", "/static/../emb.npy",
                "/static/%2e%2e/%2e%2e/secret.txt"]:
        r = c.get(raw)
        assert r.status_code == 404, raw
        assert b"not an image" not in r.content and b"NUMPY" not in r.content
    assert c.get("/api/image/60").status_code == 404
    # The same paths straight to the ASGI app, past any client-side URL normalisation.
    app = create_app(s)
    for raw in ["/api/image/../../secret.txt", "/api/image/..%2Fsecret.txt", "/static/../../secret.txt",
                "/api/image/" + str(folder_pool[0] / "secret.txt")]:
        status, body = asgi_get(app, raw)
        assert status == 404 and b"not an image" not in body, raw
    # A manifest name that escapes the image folder is refused even though it is registered.
    s.images.names = list(s.images.names)
    s.images.names[5] = "../secret.txt"
    r = c.get("/api/image/5")
    assert r.status_code == 404 and "outside the image folder" in r.json()["error"]


def asgi_get(app, raw_path: str) -> tuple[int, bytes]:
    """A GET whose path reaches the app byte for byte."""
    import asyncio

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": raw_path, "raw_path": raw_path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"127.0.0.1:8765")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8765)}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_loopback_guard_rejects_foreign_hosts_and_cross_site_posts(session):
    s, _ = session
    c = client(s)
    assert c.get("/api/state", headers={"host": "attacker.example:8765"}).status_code == 421
    assert c.post("/api/answer", json={"item": 1, "label": "y"}).status_code == 403  # no X-Elsa-Client
    r = c.post("/api/answer", content="item=1&label=y", headers={**PAGE, "content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 403
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")


def test_token_is_checked_on_every_request(session):
    s, _ = session
    token = "t" * 24
    c = TestClient(create_app(s, token=token, loopback_only=False), base_url="http://10.0.0.5:8765")
    assert c.get("/api/state").status_code == 401
    assert c.get("/").status_code == 401
    assert c.get("/api/image/41").status_code == 401
    assert c.get("/?token=wrong").status_code == 401
    page = c.get(f"/?token={token}")  # the printed link: sets the cookie
    assert page.status_code == 200 and "elsa_token" in page.headers["set-cookie"]
    assert "HttpOnly" in page.headers["set-cookie"] and "SameSite=Strict" in page.headers["set-cookie"]
    assert c.get("/api/state").status_code == 200  # the cookie is enough to read
    r = c.post("/api/answer", json={"item": 1, "label": "n"})
    assert r.status_code == 403 and "X-Elsa-Token header" in r.json()["error"]  # but not to change
    assert c.post("/api/answer", json={"item": 1, "label": "n"}, headers={"X-Elsa-Token": token}).status_code == 200
    c.cookies.clear()
    assert c.get("/api/state", headers={"X-Elsa-Token": token}).status_code == 200
    assert c.get("/api/state", headers={"X-Elsa-Token": token[:-1] + "x"}).status_code == 401


def test_two_tabs_answering_the_same_items_first_wins(session):
    s, truth = session
    batch = s.advance()
    ids = [int(i) for i in batch.ids]
    with LiveServer(s) as srv:
        def tab(label):
            out = {}
            with httpx.Client(base_url=srv.url, headers=PAGE) as c:
                for i in ids:
                    out[i] = c.post("/api/answer", json={"item": i, "label": label}).status_code
            return out

        with ThreadPoolExecutor(2) as pool:
            a, b = pool.map(tab, ["positive", "negative"])
    for i in ids:
        assert sorted([a[i], b[i]]) == [200, 409]
        winner = "positive" if a[i] == 200 else "negative"
        assert s.item_labels([i])[i]["label"] == winner
    events = s.store.query("SELECT item, COUNT(*) FROM events WHERE origin = 'round' GROUP BY item")
    assert sorted(events) == [(i, 1) for i in sorted(ids)]


def test_load_from_concurrent_clients_loses_and_duplicates_nothing(folder_pool, tmp_path):
    root, truth = folder_pool
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    np.save(tmp_path / "big.npy", X)
    with Session.create(tmp_path / "load", tmp_path / "big.npy", SearchPlan("random", params={"batch_size": 2500})) as s:
        ids = [int(i) for i in s.advance().ids]
        # 8 clients post 60 answers each, on items drawn from the round so that they collide on
        # purpose: every item's first answer wins, so exactly the distinct items are accepted.
        tries = [[int(i) for i in np.random.default_rng(k).choice(ids, 60)] for k in range(8)]
        with LiveServer(s) as srv:
            def client_loop(k):
                mine = []
                with httpx.Client(base_url=srv.url, headers=PAGE) as c:
                    for i in tries[k]:
                        r = c.post("/api/answer", json={"item": i, "label": "n" if i % 3 else "y"})
                        assert r.status_code in (200, 409), r.text
                        if r.status_code == 200:
                            mine.append((r.json()["event"], i))
                return mine

            with ThreadPoolExecutor(8) as pool:
                accepted = [x for part in pool.map(client_loop, range(8)) for x in part]
        rows = s.store.query("SELECT id, item, label FROM events")
        assert len(accepted) == len({i for t in tries for i in t})
        assert sorted(accepted) == sorted((e, i) for e, i, _ in rows)  # every accepted answer saved, nothing else
        assert len({i for _, i in accepted}) == len(accepted)  # no item answered twice
        assert all(label == ("negative" if i % 3 else "positive") for _, i, label in rows)


chromium = shutil.which("chromium") or (Path("/usr/bin/chromium").exists() and "/usr/bin/chromium")
# .ci/run installs chromium and sets this, so there the browser test can fail but never skip.
REQUIRE_BROWSER = bool(os.environ.get("ELSA_REQUIRE_BROWSER"))


@contextmanager
def browser_page(session, width=1200, height=900):
    """Headless Chromium on ``session``'s page, served in a thread, once its first tile shows
    (skipped without Chromium, unless CI requires it)."""
    if not chromium and not REQUIRE_BROWSER:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    from playwright import sync_api

    with LiveServer(session) as srv, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(srv.url)
        page.wait_for_selector(".tile")
        try:
            yield page
        finally:
            browser.close()


@pytest.mark.skipif(not chromium and not REQUIRE_BROWSER,
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_labels_with_the_keyboard_and_answers_survive_a_reload(session):
    from playwright import sync_api

    s, truth = session
    s.start_background()
    with LiveServer(s) as srv, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        page.goto(srv.url)
        page.wait_for_selector(".tile")
        assert "bright squares" in page.inner_text("#target")
        ids = [int(t) for t in page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.id)")]
        assert ids == list(s.pending().ids) and len(ids) >= 4
        keys = ["y" if truth[i] else "n" for i in ids]
        # The first item: unsure, then taken back (the focus returns to it). Done first, while
        # the batch is open: an unsure answer on the last open item would complete the batch,
        # and the next one could replace the tiles before the page is looked at.
        page.keyboard.press("u")
        page.wait_for_function("document.querySelectorAll('.tile.unsure').length === 1")
        page.keyboard.press("Backspace")
        page.wait_for_function("document.querySelectorAll('.tile.unsure').length === 0")
        for key in keys[:-1]:  # all but the last item of the batch, in the order the focus moves
            page.keyboard.press(key)
        page.reload()
        page.wait_for_selector(".tile")
        page.wait_for_function(f"document.querySelectorAll('.tile.positive, .tile.negative').length === {len(ids) - 1}")
        shown = {int(e["id"]): e["cls"] for e in page.eval_on_selector_all(
            ".tile", "els => els.map(e => ({id: e.dataset.id, cls: e.className}))")}
        saved = s.item_labels(ids)
        for i, key in zip(ids[:-1], keys):
            want = "positive" if key == "y" else "negative"
            assert want in shown[i] and saved[i]["label"] == want
        assert ids[-1] not in saved and "focus" in shown[ids[-1]]  # the reload lands on the one left
        assert page.inner_text("#labels") == str(len(ids) - 1)
        # The last answer completes the batch: the next epoch runs in the background and
        # the page shows its batch without being reloaded.
        page.keyboard.press(keys[-1])
        page.wait_for_function(f"!document.querySelector('.tile[data-id=\"{ids[0]}\"]')", timeout=30_000)
        page.wait_for_selector(".tile")
        assert page.inner_text("#epoch").startswith("2 /")
        assert "to answer in this batch" in page.inner_text("#status")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "label-page.png"), full_page=True)
        browser.close()


@pytest.mark.skipif(not chromium and not REQUIRE_BROWSER,
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_shows_the_audit_and_its_bound_after_the_hand_over(folder_pool):
    from playwright import sync_api

    root, truth = folder_pool
    with Session.create(root / "p3", root / "emb.npy", SearchPlan(stop="audit:0.8@0.9"), seeds=[40]) as s:
        doc = client(s).get("/api/state").json()
        assert doc["progress"]["certificate"]["phase"] == "search"
        batch = s.advance()
        while s.settings.get("hand_over") is None:
            for i in batch.ids:
                s.answer(i, bool(truth[i]))
            batch = s.advance()
        s.answer(int(batch.ids[0]), bool(truth[int(batch.ids[0])]))  # one audit answer
        with LiveServer(s) as srv, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(srv.url)
            page.wait_for_selector(".tile")
            line = page.inner_text(".cert")
            assert line.startswith("Random checks of the items the search left: recall >= ")
            assert "with 90 % confidence" in line and "more audit labels certify 0.8" in line
            browser.close()


def test_more_like_this_seeds_lists_and_continuing(session):
    s, truth = session
    c = client(s)
    near = c.get("/api/similar/40?k=3").json()["items"]
    assert [n["id"] for n in near] == list(s.similar(40, k=3))
    assert all(truth[n["id"]] for n in near)  # the bright images lie next to a bright one
    assert c.post("/api/seeds", json={"items": [n["id"] for n in near]}, headers=PAGE).json()["added"] == [
        n["id"] for n in near]
    positives = [p["id"] for p in c.get("/api/list/positives").json()["items"]]
    assert positives == [40, 41] + [n["id"] for n in near]
    batch = s.advance()
    c.post("/api/answer", json={"item": int(batch.ids[0]), "label": "u"}, headers=PAGE)
    assert [u["id"] for u in c.get("/api/list/unsure").json()["items"]] == [int(batch.ids[0])]
    assert c.get("/api/list/everything").status_code == 404
    assert c.get("/api/similar/40?k=lots").status_code == 400
    while len(s.advance()):
        for i in s.pending().ids:
            s.answer(i, bool(truth[i]))
    assert c.get("/api/state").json()["progress"]["status"] == "done"
    assert c.post("/api/extend", json={"epochs": 2}, headers=PAGE).json() == {"epochs": s.settings["epochs"]}
    assert c.get("/api/state").json()["progress"]["status"] == "labelling" and len(s.advance())


def test_state_carries_random_checks_the_estimate_and_the_certificate(folder_pool):
    root, truth = folder_pool
    with Session.create(root / "p2", root / "emb.npy", SearchPlan("elsa", params={"a": 5, "b": 5, "l": 5}, stop="qbcb:0.8@0.9", audit_share=0.5),
                        seeds=[40]) as s:
        c = client(s)
        s.advance()
        doc = c.get("/api/state").json()
        sources = [b["source"] for b in doc["batch"]]
        assert "audit" in sources and sources.index("audit") == len(sources) - sources.count("audit")
        assert doc["progress"]["certificate"]["n"] == 11 and doc["progress"]["stop"] == "qbcb:0.8@0.9"
        for b in doc["batch"]:
            c.post("/api/answer", json={"item": b["id"], "label": "y" if truth[b["id"]] else "n"}, headers=PAGE)
        est = c.get("/api/state").json()["progress"]["estimate"]
        assert est["method"] == "audit" and est["recall_low"] <= est["recall"] <= est["recall_high"]


def test_the_default_search_serves_pages_of_ten_until_its_budget(folder_pool):
    root, truth = folder_pool
    with Session.create(root / "p3", root / "emb.npy", SearchPlan(budget=30), seeds=[40, 41]) as s:
        c = client(s)
        pages = []
        while True:
            s.advance()
            doc = c.get("/api/state").json()
            page = [b["id"] for b in doc["batch"] if b["label"] is None]  # the page shown keeps the last answers
            if not page:
                break
            pages.append(page)
            for i in page:
                r = c.post("/api/answer", json={"item": i, "label": "y" if truth[i] else "n"}, headers=PAGE)
                assert r.status_code == 200, r.text
        assert doc["progress"]["strategy"] == "portfolio" and [len(p) for p in pages] == [10, 10, 10]
        assert len({i for p in pages for i in p}) == 30
        assert sum(truth[i] for p in pages for i in p) == 18  # every bright square but the seeds, then dark ones


def test_state_shows_the_target_by_example_seeds_first(session):
    s, truth = session
    c = client(s)
    doc = c.get("/api/state").json()
    assert doc["examples"] == [{"id": 40, "name": s.names[40], "origin": "seed"},
                               {"id": 41, "name": s.names[41], "origin": "seed"}]
    batch = s.advance()
    found = next(int(i) for i in batch.ids if truth[i])
    assert c.post("/api/answer", json={"item": found, "label": "y"}, headers=PAGE).status_code == 200
    later = next(i for i in range(42, 60) if i != found and i not in set(batch.ids.tolist()))
    assert c.post("/api/seeds", json={"items": [later]}, headers=PAGE).json()["added"] == [later]
    doc = c.get("/api/state").json()
    # A seed given after a positive was found still comes first: the strip shows what the person meant.
    assert [(e["id"], e["origin"]) for e in doc["examples"]] == [(40, "seed"), (41, "seed"), (later, "seed"),
                                                                (found, "found")]
    more = [i for i in range(42, 60) if i not in (found, later)][:8]
    c.post("/api/seeds", json={"items": more}, headers=PAGE)
    doc = c.get("/api/state").json()
    assert len(doc["examples"]) == 8 and all(e["origin"] == "seed" for e in doc["examples"])
    assert [e["id"] for e in doc["examples"]][:3] == [40, 41, later]


@pytest.fixture
def deep_pool(tmp_path):
    """60 PNGs whose names share a long folder path: only the file name's end tells them apart."""
    rng = np.random.default_rng(5)
    folder = "field-survey-uploads/2024-06-12-station-b/camera-roll"
    (tmp_path / "images" / folder).mkdir(parents=True)
    names, X = [], []
    for i in range(60):
        bright = i >= 40
        pixels = rng.integers(150, 255, (16, 16, 3)) if bright else rng.integers(0, 100, (16, 16, 3))
        name = f"{folder}/IMG_{i:04d}.png"
        Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "images" / name)
        names.append(name)
        X.append(np.r_[pixels.mean() / 255, rng.normal(0, 0.05, 3)])
    np.save(tmp_path / "emb.npy", np.asarray(X, np.float32))
    (tmp_path / "emb.manifest.json").write_text(json.dumps({"source": str(tmp_path / "images"), "items": names}))
    return tmp_path, np.arange(60) >= 40


# Whether the end of a tile's name (its file name) is drawn inside every box that clips it.
_TAIL_VISIBLE = """(el, tail) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node = null;
  while (walker.nextNode()) if (walker.currentNode.data.includes(tail)) node = walker.currentNode;
  if (!node) return "no text node holds " + tail;
  const range = document.createRange();
  const at = node.data.lastIndexOf(tail);
  range.setStart(node, at);
  range.setEnd(node, at + tail.length);
  const r = range.getBoundingClientRect();
  for (let box = node.parentElement; box && el.contains(box); box = box.parentElement) {
    if (getComputedStyle(box).overflowX === "visible") continue;
    const b = box.getBoundingClientRect();
    if (r.left < b.left - 0.5 || r.right > b.right + 0.5)
      return `${tail} is drawn at ${r.left.toFixed(0)}-${r.right.toFixed(0)}, outside ${b.left.toFixed(0)}-${b.right.toFixed(0)}`;
  }
  return "visible";
}"""


@pytest.mark.skipif(not chromium and not REQUIRE_BROWSER,
                    reason="needs Debian's chromium (apt-get install chromium)")
def test_browser_shows_file_names_examples_of_the_target_and_keeps_the_header_in_view(deep_pool):
    from playwright import sync_api

    root, truth = deep_pool
    with Session.create(root / "project", root / "emb.npy", target="bright squares", seeds=[40, 41]) as s, \
            LiveServer(s) as srv, sync_api.sync_playwright() as p:
        s.start_background()
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 520})  # short: the batch overflows
        page.goto(srv.url)
        page.wait_for_selector(".tile")
        # Before any answer, the curve box says what it will show, not "1 found / 1 labels".
        curve = page.text_content("#curve")
        assert "first answer" in curve and "1 found" not in curve, curve
        # The strip of examples shows the seeds, as thumbnails with alt text.
        page.wait_for_function("document.querySelectorAll('#examples [data-id]').length === 2", timeout=5000)
        shown = page.eval_on_selector_all("#examples [data-id]", """els => els.map(e => {
            const img = e.querySelector('img');
            return {id: +e.dataset.id, src: img && img.getAttribute('src'), alt: img && img.alt, title: e.title};
        })""")
        assert [e["id"] for e in shown] == [40, 41]
        for e in shown:
            assert e["src"] == f"/api/image/{e['id']}?size=thumb" and s.names[e["id"]] in e["alt"] + e["title"]
        page.wait_for_function("[...document.querySelectorAll('#examples img')].every(i => i.complete && i.naturalWidth > 0)")
        # Every tile: the whole path on hover, and its file name visible in the tile.
        tiles = page.query_selector_all(".tile")
        assert len(tiles) >= 6
        for tile in tiles:
            item = int(tile.get_attribute("data-id"))
            name = tile.query_selector(".name")
            assert name.get_attribute("title") == s.names[item]
            assert name.inner_text().replace("\n", " ").startswith(f"#{item} ")
            assert name.evaluate(_TAIL_VISIBLE, s.names[item].rsplit("/", 1)[-1]) == "visible"
        # The header (the question and the counters) stays in view at the bottom of a long batch.
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function("window.scrollY > 100")
        box = page.evaluate("""() => {
            const h = document.querySelector('header').getBoundingClientRect();
            const hit = document.elementFromPoint(h.left + 40, h.top + h.height / 2);
            return {top: h.top, bottom: h.bottom, hit: !!hit && !!hit.closest('header'),
                    target: document.getElementById('target').getBoundingClientRect().bottom,
                    found: document.getElementById('found').getBoundingClientRect().bottom};
        }""")
        assert abs(box["top"]) <= 1 and box["hit"], box
        assert 0 < box["target"] <= box["bottom"] and 0 < box["found"] <= box["bottom"], box
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "label-page-scrolled.png"))
        # Moving the focus back up scrolls its tile into view below the header, not under it.
        page.keyboard.press("ArrowRight")
        page.wait_for_function("""() => {
            const t = document.querySelector('.tile.focus').getBoundingClientRect();
            return t.top >= document.querySelector('header').getBoundingClientRect().bottom && t.bottom <= innerHeight;
        }""", timeout=5000)
        page.keyboard.press("ArrowLeft")
        # A first answer: the positive joins the strip after the seeds, and the curve is drawn.
        first = int(page.get_attribute(".tile.focus", "data-id"))
        page.keyboard.press("y")
        page.wait_for_function(f"[...document.querySelectorAll('#examples [data-id]')].map(e => +e.dataset.id)"
                               f".join() === '40,41,{first}'")
        page.wait_for_function("!!document.querySelector('#curve polyline')")
        assert "first answer" not in page.text_content("#curve")
        assert page.inner_text("#found") == "1"
        browser.close()
