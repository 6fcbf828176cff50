"""Text items: records files in, sparse TF-IDF features, the sparse exact index, the search on text."""

import json
import time

import numpy as np
import pytest
import scipy.sparse as sp

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import InputError, ParameterError
from elsa.index import ExactIndex
from elsa.index.graph import neighbour_graph
from elsa.index.local import make_local_index
from elsa.index.sparse import SparseExactIndex
from elsa.text.features import featuriser_key, text_features, tfidf
from elsa.text.records import read_records

# --- records ---------------------------------------------------------------------------------


def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_csv_columns_ids_and_labels_are_read_without_regard_to_case(tmp_path):
    f = write(tmp_path / "r.csv", "Record_ID,Title,Abstract,label_included,year\n"
                                  "a1,Cats,Cats purr.,1,2001\n"
                                  "a2,Dogs,Dogs bark.,0,2002\n"
                                  "a3,Fish,,,2003\n")
    r = read_records(f)
    assert r.ids == ["a1", "a2", "a3"]
    assert r.text_columns == ("title", "abstract")
    assert r.texts() == ["Cats\nCats purr.", "Dogs\nDogs bark.", "Fish"]
    assert r.labels.tolist() == [1, 0, -1]
    assert r.problems == {}


def test_row_numbers_identify_records_without_a_record_id_column(tmp_path):
    f = write(tmp_path / "r.csv", "title\nA\nB\n\nC\n")  # a blank line is no record
    r = read_records(f)
    assert r.ids == ["0", "1", "2"] and r.labels is None


def test_a_missing_text_column_names_the_columns_the_file_has(tmp_path):
    f = write(tmp_path / "r.csv", "name,body\nx,y\n")
    with pytest.raises(InputError, match="neither a 'title' nor an 'abstract'.*body, name"):
        read_records(f)
    with pytest.raises(InputError, match="no column 'summary'.*body, name"):
        read_records(f, "name,summary")
    assert read_records(f, "body").texts() == ["y"]


def test_problems_are_reported_and_never_fatal(tmp_path):
    f = write(tmp_path / "r.csv", b"record_id,title,abstract\n"
                                  b"1,caf\xe9 latte,good\n"        # Latin-1, not UTF-8
                                  b"2,,\n"                         # no text
                                  b"3,Same  text,here\n"
                                  b"4,same text,HERE\n"            # a duplicate (case and spaces aside)
                                  b"4,short\n", mode="wb")          # a short row, and id 4 again
    r = read_records(f)
    assert len(r) == 5
    p = r.problems
    assert p["not_utf8"]["records"] == ["1"] and "\ufffd" in r.texts()[0]
    assert p["no_text"]["records"] == ["2"]
    assert p["duplicate_text"]["groups"] == [["3", "4"]] and p["duplicate_text"]["count"] == 1
    assert p["short_rows"]["rows"] == [4]
    assert p["duplicate_ids"]["records"] == ["4"]


def test_jsonl_skips_lines_that_are_not_objects_and_says_which(tmp_path):
    f = write(tmp_path / "r.jsonl", '{"title": "A", "abstract": "x"}\nnot json\n[1, 2]\n{"title": "B", "id": 3}\n')
    r = read_records(f)
    assert r.texts() == ["A\nx", "B"]
    assert r.problems["skipped_lines"]["lines"] == [2, 3]


def test_ris_records_with_asreview_labels(tmp_path):
    f = write(tmp_path / "r.ris", "TY  - JOUR\nID  - 17\nTI  - Deep search\nAB  - We find\n  every item.\n"
                                  "N1  - ASReview_relevant\nER  - \n\n"
                                  "TY  - JOUR\nT1  - Other\nN1  - ASReview_irrelevant\nER  - \n"
                                  "TY  - JOUR\nTI  - Unlabelled\nER  - \n")
    r = read_records(f)
    assert r.ids == ["17", "1", "2"]
    assert r.texts() == ["Deep search\nWe find every item.", "Other", "Unlabelled"]
    assert r.labels.tolist() == [1, 0, -1]


def test_txt_is_one_record_per_line(tmp_path):
    r = read_records(write(tmp_path / "r.txt", "first line\nsecond line\n"))
    assert r.texts() == ["first line", "second line"] and r.text_columns == ("text",)


@pytest.mark.parametrize("name, message", [("r.docx", "suffix '.docx'"), ("missing.csv", "not found")])
def test_unreadable_records_files_get_one_clear_error(tmp_path, name, message):
    if name.endswith(".docx"):
        write(tmp_path / name, "x")
    with pytest.raises(InputError, match=message):
        read_records(tmp_path / name)


# --- features --------------------------------------------------------------------------------

def test_tfidf_rows_are_unit_length_and_an_empty_record_is_a_zero_row():
    X, terms = tfidf(["red apples and green apples", "green pears", "", "red pears", "apples"])
    assert sp.isspmatrix_csr(X) and X.dtype == np.float32
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 0, 1, 1], atol=1e-6)
    assert "apples" in terms and "and" not in terms  # English stop words are dropped


def test_features_are_cached_by_the_whole_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    texts = ["red apples", "green apples", "red pears"]
    X1 = text_features(texts, progress=False)
    # The features and their vocabulary (terms and IDF), under one key.
    assert sorted(f.name.partition(".")[2] for f in (tmp_path / "text").iterdir()) == ["npz", "vocab.npz"]
    X2 = text_features(texts, progress=False)
    assert (X1 != X2).nnz == 0
    assert featuriser_key(texts) != featuriser_key(texts[:2] + ["red pear"])  # one record changes every IDF


# --- the sparse exact index: the dense exact index is its reference ---------------------------

def sparse_pool(n=60, d=40, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.15, random_state=seed, format="csr", dtype=np.float32)
    X.data = rng.uniform(0.1, 1, X.data.size).astype(np.float32)
    return X


@pytest.mark.parametrize("chunk_rows", [7, 1000])
def test_sparse_index_answers_as_the_dense_exact_index(chunk_rows):
    X = sparse_pool()
    dense = ExactIndex(X.toarray())
    index = SparseExactIndex(X, chunk_rows=chunk_rows)
    ids = np.arange(0, 60, 7)
    exclude = np.zeros(60, bool)
    exclude[[3, 4, 5]] = True
    D, I = index.search(X[ids], 5, exclude=exclude, query_ids=ids)
    Dr, Ir = dense.search(X[ids].toarray(), 5, exclude=exclude, query_ids=ids)
    np.testing.assert_array_equal(I, Ir)
    np.testing.assert_allclose(D, Dr, atol=1e-5)
    D, I = index.search_set(X[[1, 2]], 8, exclude=exclude)
    Dr, Ir = dense.search_set(X[[1, 2]].toarray(), 8, exclude=exclude)
    np.testing.assert_array_equal(I, Ir)
    np.testing.assert_allclose(index.distance_to_set(X[[9]]), dense.distance_to_set(X[[9]].toarray()), atol=1e-5)


def test_the_k_nn_graph_of_a_sparse_pool_is_the_dense_one():
    X = sparse_pool(seed=3)
    sparse = neighbour_graph(X, 6, cache=False, progress=False).forward
    dense = neighbour_graph(X.toarray(), 6, cache=False, progress=False).forward
    np.testing.assert_array_equal(sparse, dense)


def test_only_the_exact_backend_takes_a_sparse_pool():
    X = sparse_pool()
    assert isinstance(make_local_index(X, "auto"), SparseExactIndex)
    with pytest.raises(ParameterError, match="ivf backend needs dense vectors.*--index exact"):
        make_local_index(X, "ivf")


def test_a_sparse_pool_with_nan_names_the_row():
    X = sparse_pool()
    X.data[X.indptr[4]] = np.nan
    with pytest.raises(InputError, match=r"1 row\(s\) with NaN or inf values \(rows 4\)"):
        SparseExactIndex(X)


# --- the search on text ----------------------------------------------------------------------

def topic_corpus(n=300, positives=12, seed=0):
    """Records about fruit and about tools; the positives are the few about comets."""
    rng = np.random.default_rng(seed)
    fruit, tools, comets = (["apple", "pear", "plum", "orchard", "ripe", "juice"],
                            ["hammer", "saw", "drill", "bench", "chisel", "screw"],
                            ["comet", "tail", "orbit", "nucleus", "perihelion", "ice"])
    texts, y = [], []
    for i in range(n):
        words = comets if i < positives else (fruit if i % 2 else tools)
        texts.append(" ".join(rng.choice(words, 6)) + " " + " ".join(rng.choice(fruit + tools, 2)))
        y.append(int(i < positives))
    return texts, np.array(y)


def test_lead_terms_are_the_shared_terms_weighted_by_the_positives():
    from elsa.text.highlight import lead_terms, positives_centroid

    texts = ["comet orbit comet tail", "comet orbit", "apple orbit", "apple pear", "tail pear"]
    X, terms = tfidf(texts)
    c = positives_centroid(X, np.array([0, 1]))
    # Item 2 shares only "orbit" with the positives; item 3 shares nothing; item 4 "tail" (in record 0 only).
    assert lead_terms(X, terms, 2, c) == ["orbit"]
    assert lead_terms(X, terms, 3, c) == []
    assert lead_terms(X, terms, 4, c) == ["tail"]
    # A positive's own terms, heaviest first: "comet" (twice in record 0, in both), then the pair.
    assert lead_terms(X, terms, 0, c) == ["comet", "comet orbit", "orbit", "tail"]
    assert lead_terms(X, terms, 0, c, top=1) == ["comet"]
    assert positives_centroid(X, np.array([], np.int64)) is None and lead_terms(X, terms, 0, None) == []


def test_a_vocabulary_featurises_other_texts_in_the_corpus_space(tmp_path, monkeypatch):
    from elsa.text.features import text_features_and_vocabulary

    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path))
    texts, _ = topic_corpus(60, 6)
    X, vocab = text_features_and_vocabulary(texts, progress=False)
    assert abs(vocab.transform(texts) - X).max() < 1e-6  # the corpus's own rows, exactly
    again, vocab2 = text_features_and_vocabulary(texts, progress=False)  # from the cache
    assert (again != X).nnz == 0 and vocab2.terms.tolist() == vocab.terms.tolist()
    q = vocab.transform(["a comet with a long tail, and zebras"]).toarray().ravel()
    assert set(vocab.terms[q > 0]) == {"comet", "tail"}  # unknown words are dropped
    assert abs(np.linalg.norm(q) - 1) < 1e-6


def test_the_default_search_finds_a_rare_topic_in_text_and_is_reproducible():
    from elsa.simulation import simulate

    texts, y = topic_corpus()
    X, _ = tfidf(texts)
    runs = [simulate(X, y, 1, SearchPlan(budget=30, random_state=4), seeds=[0, 1],
                     trial=Trial(progress=False))["runs"][0] for _ in range(2)]
    assert runs[0]["found"] == 10  # all 10 positives but the seeds, within 30 labels
    assert runs[0]["curve"] == runs[1]["curve"]


def test_a_description_chooses_the_first_page_without_seeds_and_is_one_more_positive_with_them():
    from elsa.simulation import simulate
    from elsa.text.describe import describe
    from elsa.text.features import text_features_and_vocabulary

    texts, y = topic_corpus()  # 12 comet records among 300
    X, vocab = text_features_and_vocabulary(texts, use_cache=False, progress=False)
    q = describe("a comet in orbit, its tail and nucleus", vocab)
    assert q.shape == (1, X.shape[1]) and q.nnz == 4
    runs = {ex is not None: simulate(X, y, 1, SearchPlan(budget=30, random_state=4), seeds=0,
                                     trial=Trial(found_at=(10,), progress=False),
                                     examples=ex)["runs"][0] for ex in (None, q)}
    # Without seeds or a description the first pages are random (the first comet at label 11);
    # with the description the first page is ten comets.
    assert runs[False]["found_at"]["10"] == 0 and runs[False]["first_positive_at"] == 11
    assert runs[True]["found_at"]["10"] == 10 and runs[True]["first_positive_at"] == 1
    with pytest.raises(InputError, match="none of its words occurs in the records"):
        describe("the zebras", vocab)
    with pytest.raises(ParameterError, match="description is empty"):
        describe("  ", vocab)


def test_elsa_simulate_describe_needs_records(tmp_path, capsys):
    from elsa.cli import main

    texts, y = topic_corpus(60, 6)
    f = tmp_path / "r.csv"
    f.write_text("title,abstract,label_included\n" + "".join(f"t{i},{t},{v}\n" for i, (t, v) in enumerate(zip(texts, y))))
    assert main(["simulate", "--records", str(f), "--target", "1", "--seeds", "0", "--budget", "10",
                 "--describe", "comet orbit", "--quiet", "--output", str(tmp_path / "o.json")]) == 0
    doc = json.loads((tmp_path / "o.json").read_text())
    assert doc["params"]["describe"] == "comet orbit" and doc["params"]["examples"] == 1
    assert "0 seeds and the description 'comet orbit', 1 run(s)" in capsys.readouterr().out
    assert doc["runs"][0]["found"] == 6  # all six comet records, in the first page of ten
    np.save(tmp_path / "e.npy", np.eye(4, dtype=np.float32))
    np.save(tmp_path / "l.npy", np.array([1, 0, 0, 0]))
    assert main(["simulate", "--embeddings", str(tmp_path / "e.npy"), "--labels", str(tmp_path / "l.npy"),
                 "--target", "1", "--describe", "x"]) == 2
    assert "--describe applies only to --records" in capsys.readouterr().err
    assert main(["simulate", "--records", str(f), "--target", "1", "--describe", "zebra", "--quiet"]) != 0
    assert "--describe 'zebra': none of its words occurs in the records" in capsys.readouterr().err


def test_a_strategy_that_needs_dense_vectors_refuses_text_by_name():
    from elsa.simulation import simulate

    texts, y = topic_corpus()
    X, _ = tfidf(texts)
    with pytest.raises(ParameterError, match="strategy grids needs dense vectors"):
        simulate(X, y, 1, SearchPlan("grids", budget=10), seeds=[0], trial=Trial(progress=False))


def topic_csv(path, labelled=True):
    """:func:`topic_corpus` as a records file with ids r0..r299 (and label_included), and its labels."""
    texts, y = topic_corpus()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("record_id,title,abstract" + (",label_included" if labelled else "") + "\n")
        for i, (t, label) in enumerate(zip(texts, y)):
            fh.write(f"r{i},{t.split()[0]},{t}" + (f",{label}" if labelled else "") + "\n")
    return path, y


def test_elsa_simulate_and_embed_take_records(tmp_path, capsys):
    from elsa.cli import main

    f, y = topic_csv(tmp_path / "r.csv")
    out = tmp_path / "o.json"
    assert main(["simulate", "--records", str(f), "--target", "1", "--seed-ids", "r0,r1", "--budget", "30",
                 "--output", str(out), "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert doc["runs"][0]["found"] == 10
    assert doc["params"]["records"]["record_ids"][:2] == ["r0", "r1"]
    assert main(["embed", str(f), "--out", str(tmp_path / "feats.npz"), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "feats.manifest.json").read_text())
    assert manifest["items"][0] == "r0" and manifest["shape"][0] == 300
    assert np.load(tmp_path / "feats.labels.npy").sum() == 12
    assert main(["simulate", "--embeddings", str(tmp_path / "feats.npz"), "--labels", str(tmp_path / "feats.labels.npy"),
                 "--target", "1", "--seed-ids", "0,1", "--budget", "30", "--quiet"]) == 0
    assert main(["embed", str(f), "--out", str(tmp_path / "feats.npy")]) == 2
    assert "--out must name a .npz" in capsys.readouterr().err
    # A session over the features file shows the records its manifest names.
    from elsa.session import Session

    with Session.create(tmp_path / "p", tmp_path / "feats.npz", seeds=[0]) as s:
        assert s.texts.available and s.names[:2] == ["r0", "r1"] and s.X.shape[0] == 300
        assert s.positive_items().tolist() == list(range(12))  # the file's label_included start the labels


# --- text sessions and the labeller ----------------------------------------------------------

@pytest.fixture
def text_records(tmp_path):
    texts, y = topic_corpus(n=120, positives=12)
    f = tmp_path / "records.csv"
    with open(f, "w", encoding="utf-8") as fh:
        fh.write("record_id,title,abstract\n")
        for i, t in enumerate(texts):
            fh.write(f"doc-{i},Record {i} {t.split()[0]},{t}\n")
    return f, y


def test_a_text_session_shows_cards_names_items_by_record_id_and_reopens(text_records, tmp_path):
    from starlette.testclient import TestClient

    from elsa.session import Session
    from elsa.web.app import create_app

    f, y = text_records
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=40), target="comets", seeds=[0, 1])
    try:
        s.start_background()
        c = TestClient(create_app(s), base_url="http://127.0.0.1:8765")
        import time

        for _ in range(100):
            doc = c.get("/api/state", headers={"X-Elsa-Client": "test"}).json()
            if doc["batch"]:
                break
            time.sleep(0.05)
        assert doc["texts"] is True and doc["images"] is False
        # The long poll: a page with nothing to wait for is answered at once; a bad wait is refused.
        t0 = time.monotonic()
        assert c.get("/api/state?wait=20", headers={"X-Elsa-Client": "test"}).json()["batch"] == doc["batch"]
        assert time.monotonic() - t0 < 5
        bad = c.get("/api/state?wait=nan", headers={"X-Elsa-Client": "test"})
        assert bad.status_code == 400 and "wait must be a number of seconds from 0 to 30" in bad.json()["error"]
        item = doc["batch"][0]
        assert item["name"] == f"doc-{item['id']}"
        assert item["text"]["title"].startswith(f"Record {item['id']} ")
        assert item["text"]["body"] == topic_corpus(n=120, positives=12)[0][item["id"]]
        assert [e["title"] for e in doc["examples"]][:2] == ["Record 0 " + topic_corpus(120, 12)[0][0].split()[0],
                                                             "Record 1 " + topic_corpus(120, 12)[0][1].split()[0]]
    finally:
        s.close()
    s = Session.open(tmp_path / "p")
    try:
        assert s.texts.available and s.names[5] == "doc-5"
    finally:
        s.close()
    f.write_text(f.read_text() + "doc-x,New,new text\n")
    with pytest.raises(InputError, match="records file .* changed since the session began"):
        Session.open(tmp_path / "p")


def test_a_text_session_without_seeds_starts_from_the_targets_words(text_records, tmp_path):
    from elsa.session import Session

    f, y = text_records
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=40), target="a comet: its orbit and tail")
    try:
        assert s.described is not None and s.described.nnz == 3  # comet, orbit, tail
        s.start_background()
        for _ in range(500):
            if s.pending().ids.size:
                break
            time.sleep(0.02)
        first = s.pending().ids
        assert first.size == 10 and y[first].sum() == 10  # the first page: ten of the twelve comet records
        from starlette.testclient import TestClient

        from elsa.web.app import create_app

        doc = TestClient(create_app(s), base_url="http://127.0.0.1:8765").get("/api/state").json()
        assert doc["described"] is True and sorted(e["id"] for e in doc["batch"]) == sorted(first.tolist())
    finally:
        s.close()
    s = Session.open(tmp_path / "p")  # reopened: the same description, the same page
    try:
        assert s.pending().ids.tolist() == first.tolist() and s.described.nnz == 3
    finally:
        s.close()


def test_only_sessions_begun_with_descriptions_use_the_targets_words():
    from elsa.session.texts import target_examples
    from elsa.text.features import _fit

    _, vocab = _fit(["comet orbit", "comet orbit tail", "apple pear", "apple pear"])
    meta = {"target": "comets and their orbit", "records": {"describe": True}}
    assert target_examples(meta, vocab).nnz == 1  # "orbit" ("comets" is not a term: no stemming)
    assert target_examples({**meta, "records": {}}, vocab) is None  # a session from before: as it chose then
    assert target_examples({**meta, "target": "zebras"}, vocab) is None  # no word of it in the records
    assert target_examples({**meta, "target": ""}, vocab) is None


def test_browser_labels_a_page_of_text_records_with_the_keyboard(text_records, tmp_path):
    from test_web import ARTIFACTS, browser_page

    from elsa.session import Session

    f, y = text_records
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=40), target="records about comets", seeds=[0, 1])
    s.start_background()
    try:
        with browser_page(s) as page:
            page.wait_for_selector(".tile .card")
            ids = [int(t) for t in page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.id)")]
            assert ids == list(s.pending().ids) and len(ids) == 10
            first = page.inner_text(f'.tile[data-id="{ids[0]}"] .card .title')
            assert first.startswith(f"Record {ids[0]} ")
            # Each card marks the words it shares with the positives (so far the seeds, records 0 and 1).
            marked = page.eval_on_selector_all(".tile .card mark", "els => els.map(e => e.textContent)")
            seed_words = set(" ".join(read_records(f).texts()[:2]).lower().split())
            assert marked and {m.lower() for m in marked} <= seed_words
            leads = [i for i in ids if i < 12]  # the comet records on the page share comet words with the seeds
            assert leads and all(page.query_selector(f'.tile[data-id="{i}"] .card mark') for i in leads)
            page.keyboard.press(" ")  # the whole record, in the viewer
            page.wait_for_selector("#viewer-text:not([hidden])")
            assert page.inner_text("#viewer-title") == first
            page.keyboard.press("Escape")
            for i in ids:  # answer the page in the order the focus moves
                page.keyboard.press("y" if y[i] else "n")
            page.wait_for_function(f"!document.querySelector('.tile[data-id=\"{ids[0]}\"]')", timeout=30_000)
            saved = s.item_labels(ids)
            assert [saved[i]["label"] for i in ids] == ["positive" if y[i] else "negative" for i in ids]
            ARTIFACTS.mkdir(exist_ok=True)
            page.wait_for_selector(".tile .card")
            page.screenshot(path=str(ARTIFACTS / "label-page-text.png"), full_page=True)
    finally:
        s.close()


def test_a_text_session_exports_and_imports_asreviews_columns(text_records, tmp_path):
    from elsa.session import Session
    from elsa.text.records import read_records

    f, y = text_records
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=40), target="comets", seeds=[0, 1])
    try:
        s.start_background()
        import time

        for _ in range(200):
            if s.pending().ids.size:
                break
            time.sleep(0.02)
        ids = [int(i) for i in s.pending().ids[:2]]
        s.answer(ids[0], "negative")
        s.answer(ids[1], "unsure")
        assert s.export(tmp_path / "out.csv") == 120
        assert s.export(tmp_path / "out.ris") == 120
    finally:
        s.close()
    back = read_records(tmp_path / "out.csv")
    assert back.ids[:3] == ["doc-0", "doc-1", "doc-2"] and back.texts() == read_records(f).texts()
    want = np.full(120, -1)
    want[[0, 1]], want[ids[0]] = 1, 0  # the seeds, the "no"; unsure and unlabelled are empty
    assert back.labels.tolist() == want.tolist()
    ris = read_records(tmp_path / "out.ris")
    assert ris.ids == back.ids and ris.labels.tolist() == want.tolist()
    # The export starts a new session with its labels.
    s = Session.create(tmp_path / "q", tmp_path / "out.ris", target="comets")
    try:
        assert s.positive_items().tolist() == [0, 1]
        assert s.item_labels([ids[0]])[ids[0]]["label"] == "negative"
    finally:
        s.close()


@pytest.mark.parametrize("name, params, least", [(n, {}, 5) for n in
                                                 ("elsa", "nn", "fars", "greedys", "knn-search", "ens", "cal", "blend")]
                         + [("seals", {"criterion": "positive", "head": "logistic", "batch_size": 10}, 5),
                            ("seals", {"criterion": "id"}, 0)])  # uncertainty sampling: not meant to find positives
def test_every_strategy_that_takes_text_runs_on_sparse_features(name, params, least):
    from elsa.simulation import simulate

    texts, y = topic_corpus()
    X, _ = tfidf(texts)
    run = simulate(X, y, 1, SearchPlan(name, params=params, budget=120, random_state=1), seeds=[0, 1],
                   trial=Trial(progress=False))["runs"][0]
    assert run["queries"] <= 120 and run["found"] >= least  # a topic this distinct is found by any search


# --- edge cases found in review --------------------------------------------------------------

def test_a_record_with_no_terms_is_nobodys_nearest_neighbour():
    X, _ = tfidf(["apple banana cherry", "apple durian", "banana fig", "", "", "grape kiwi", "grape lemon"])
    index = SparseExactIndex(X)
    _, I = index.search(X[[0]], 4, query_ids=[0])
    assert I[0].tolist()[:2] == [1, 2] and 3 not in I[0][:2] and 4 not in I[0][:2]
    D, _ = index.search(X[[3]], 2, query_ids=[3])  # an empty record is as far from everything
    np.testing.assert_allclose(D[0], [2.0, 2.0])
    forward = neighbour_graph(X, 2, cache=False, progress=False).forward
    assert set(forward[5].tolist()) == {6, 0} and 3 not in forward[:3, 0]


def test_the_head_trains_when_no_training_row_has_a_term():
    from elsa.head.logistic import LogisticHead

    X, _ = tfidf(["a b", "c d", "e f", "apple pie", "apple tart"])  # single letters are no terms
    head = LogisticHead(1.0, balanced=False).prepare(X)
    head.fit(X[[0, 1, 2]], np.array([True, False, False]), 0)
    np.testing.assert_allclose(head.decision_function(X), np.log(1 / 2))  # the prior's log-odds, everywhere


def test_farthest_first_and_sq_dist_to_on_sparse_rows_match_dense():
    from elsa.samplers._geometry import farthest_first, sq_dist_to

    X = sparse_pool(seed=7)
    np.testing.assert_allclose(sq_dist_to(X, X[3]), sq_dist_to(X.toarray(), X.toarray()[3]), atol=1e-5)
    cand = np.arange(5, 40)
    assert farthest_first(X, cand, np.array([0, 1]), 6).tolist() == farthest_first(X.toarray(), cand,
                                                                                    np.array([0, 1]), 6).tolist()
    assert farthest_first(X, cand, np.zeros(0, np.int64), 6).tolist() == farthest_first(
        X.toarray(), cand, np.zeros(0, np.int64), 6).tolist()


def test_jsonl_keys_are_matched_row_by_row_and_long_csv_rows_are_reported(tmp_path):
    r = read_records(write(tmp_path / "r.jsonl", '{"Title": "A"}\n{"title": "B", "ABSTRACT": "b"}\n'))
    assert r.texts() == ["A", "B\nb"]
    r = read_records(write(tmp_path / "r.csv", "Title,Abstract\nx,y\nx,y,z\n"))
    assert r.problems["long_rows"]["rows"] == [1]
    with pytest.raises(InputError, match="its columns are Abstract, Title"):
        read_records(tmp_path / "r.csv", "summary")


def test_repeated_record_ids_get_names_that_never_collide():
    from elsa.session.setup import unique_names

    names = unique_names(["a", "a", "a (row 1)", "b"])
    assert names == ["a", "a (row 1, 1)", "a (row 1)", "b"] and len(set(names)) == 4


def test_a_text_export_refuses_a_changed_records_file_and_jsonl_needs_none(text_records, tmp_path, capsys):
    from elsa.cli import main
    from elsa.session import Session

    f, y = text_records
    Session.create(tmp_path / "p", f, target="comets", seeds=[0, 1]).close()
    f.write_text(f.read_text().replace("doc-3,", "doc-3-edited,"))
    assert main(["label", str(tmp_path / "p"), "--export", str(tmp_path / "out.csv")]) == 1
    assert "changed since the session began" in capsys.readouterr().err
    f.unlink()
    assert main(["label", str(tmp_path / "p"), "--export", str(tmp_path / "out.jsonl")]) == 0
