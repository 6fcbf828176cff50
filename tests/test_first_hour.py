"""The first hour of a new user (issue 39): seeds named as the user names items, a plot and a
"found within" line from every simulation, the search box, and messages in the user's words."""

import json

import numpy as np
import pytest

from elsa.cli import main
from elsa.metrics import found_within, median_curve
from elsa.plan import SearchPlan
from elsa.session import Session
from elsa.session.finder import Finder
from elsa.exceptions import InputError

from test_text import topic_csv


@pytest.fixture
def records(tmp_path):
    """300 records with ids r0..r299 and labels; the first 12 are about comets (class 1)."""
    return topic_csv(tmp_path / "r.csv")


@pytest.fixture
def unlabelled(tmp_path):
    """The same records without their labels, as a reviewer starts."""
    return topic_csv(tmp_path / "u.csv", labelled=False)


def test_simulate_takes_record_ids_as_seeds_and_plots_the_run(records, tmp_path, capsys):
    f, y = records
    out, png = tmp_path / "o.json", tmp_path / "run.png"
    assert main(["simulate", "--records", str(f), "--target", "1", "--seed-ids", "r3,r7", "--budget", "120",
                 "--output", str(out), "--plot", str(png), "--quiet"]) == 0
    text = capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["runs"][0]["seed_ids"] == [3, 7]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"plot of positives found against labels spent: {png}" in text
    # found within 100 labels: the run's curve at 100 (its budget is 120, so 250 is not shown)
    assert f"found within 100 labels: {found_within([doc['runs'][0]['curve']], [100])[0]:g}" in text
    assert "a pool of 300 records (" in text and "text features)" in text and "(d = " not in text
    # Row numbers have a name that says so, and give the same seeds.
    assert main(["simulate", "--records", str(f), "--target", "1", "--seed-rows", "3,7", "--budget", "120",
                 "--output", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["runs"][0]["seed_ids"] == [3, 7]


@pytest.mark.parametrize("args, message", [
    (["--seed-ids", "r3,fstab.5"], "--seed-ids: no record with id 'fstab.5' in"),
    (["--seed-rows", "3,500"], "--seed-rows: rows [500] are outside the pool's rows 0..299"),
    (["--seed-ids", "r3", "--seeds", "2"], "give one of --seeds, --seed-ids and --seed-rows, not --seeds and --seed-ids"),
])
def test_bad_seeds_are_named_by_the_option_the_user_gave(records, capsys, args, message):
    f, _ = records
    assert main(["simulate", "--records", str(f), "--target", "1", "--budget", "30", "--quiet", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_labels_file_of_the_wrong_length_names_the_records(records, tmp_path, capsys):
    f, y = records
    np.save(tmp_path / "L.npy", y[:-1])
    assert main(["simulate", "--records", str(f), "--labels", str(tmp_path / "L.npy"), "--target", "1",
                 "--budget", "30", "--quiet"]) == 1
    assert "--labels has 299 entries but the records file has 300 records" in capsys.readouterr().err
    np.save(tmp_path / "E.npy", np.zeros((300, 4), np.float32))
    assert main(["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "L.npy"),
                 "--target", "1", "--budget", "30", "--quiet"]) == 1
    assert "--labels has 299 entries but --embeddings has 300 rows" in capsys.readouterr().err
    np.save(tmp_path / "L.npy", y)
    assert main(["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "L.npy"),
                 "--target", "1", "--seed-ids", "r3", "--budget", "30", "--quiet"]) == 2
    assert "--seed-ids with --embeddings are row numbers, got r3" in capsys.readouterr().err


def test_a_file_that_is_not_utf8_gets_a_sentence_that_says_what_to_do(tmp_path, capsys):
    f = tmp_path / "latin1.csv"
    f.write_bytes(b"record_id,title,abstract,label_included\n1,caf\xe9 latte,good,1\n2,tea,fine,0\n3,milk,ok,0\n")
    main(["simulate", "--records", str(f), "--target", "1", "--seed-ids", "1", "--budget", "2", "--quiet"])
    err = capsys.readouterr().err
    assert "note: latin1.csv: 1 record(s) with bytes that are not valid UTF-8" in err and "Latin-1" in err


def test_resume_of_a_missing_project_names_both_ways_to_start(tmp_path, capsys):
    assert main(["label", str(tmp_path / "nope"), "--resume"]) == 1
    assert "start one with --embeddings E.npy or --records FILE" in capsys.readouterr().err


def test_target_help_says_which_meaning_applies(capsys):
    for command, meaning, other in (("simulate", "the class to find, as a number", "in `elsa label`, --target is"),
                                    ("label", "what you are looking for, in words", "in `elsa simulate`, --target is")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        help_text = " ".join(capsys.readouterr().out.split()).lower()
        assert meaning in help_text and other in help_text


def test_export_says_how_many_items_were_labelled(records, unlabelled, tmp_path, capsys):
    f, y = records
    Session.create(tmp_path / "p", f, SearchPlan(budget=30), seeds=["r0", "r1"]).close()
    # the records' own label_included values start the labels: 12 positive, 288 negative
    assert main(["label", str(tmp_path / "p"), "--export", str(tmp_path / "screened.csv")]) == 0
    line = capsys.readouterr().out
    assert line == f"wrote 300 row(s) to {tmp_path / 'screened.csv'}: 300 item(s) labelled (12 positive, 288 negative)\n"
    g, _ = unlabelled
    with Session.create(tmp_path / "q", g, SearchPlan(budget=30), seeds=["r0", "r1"]) as s:
        s.answer(s.next_batch().ids[0], "n")
    assert main(["label", str(tmp_path / "q"), "--export", str(tmp_path / "screened2.csv")]) == 0
    assert ": 3 item(s) labelled (2 positive, 1 negative) and 297 not yet labelled (every record is listed" in \
        capsys.readouterr().out


def test_strategies_open_with_the_default_and_say_when_and_whether_text():
    from elsa.search.registry import SPECS, USE_WHEN, describe_strategies

    text = describe_strategies()
    assert text.startswith("portfolio (the default)\n") and set(USE_WHEN) == set(SPECS)
    blocks = {b.split("\n")[0].split(" ")[0]: b for b in text.split("\n") if b and not b.startswith(" ")}
    assert text.count("use it when: ") == len(SPECS) and text.count("text records: ") == len(SPECS)
    grids = text[text.index("\ngrids\n"):].split("\n")[:5]
    assert "    text records: no (it needs dense vectors)" in grids and len(blocks) == len(SPECS) + 1


def test_found_within_and_the_median_curve_of_several_runs():
    a, b = [(0, 0), (10, 3), (20, 5)], [(0, 0), (15, 1), (30, 6)]
    assert found_within([a, b], [5, 10, 20, 40]) == [0.0, 1.5, 3.0, 5.5]
    assert median_curve([a, b]) == [(0, 0.0), (10, 1.5), (15, 2.0), (20, 3.0), (30, 5.5)]


def test_elsa_plot_draws_several_simulations_and_refuses_other_files(records, tmp_path, capsys):
    f, _ = records
    outs = []
    for strategy in ("nn", "portfolio"):
        outs.append(tmp_path / f"{strategy}.json")
        assert main(["simulate", "--records", str(f), "--target", "1", "--strategy", strategy, "--budget", "60",
                     "--repeats", "2", "--output", str(outs[-1]), "--quiet"]) == 0
    png = tmp_path / "both.png"
    assert main(["plot", str(png), *map(str, outs)]) == 0
    assert "(2 curve(s))" in capsys.readouterr().out and png.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.json"
    bad.write_text('{"strategy": "x"}')
    assert main(["plot", str(png), str(bad)]) == 1
    assert "is not the results of `elsa simulate --output`" in capsys.readouterr().err


def test_the_finder_matches_every_word_and_puts_an_exact_name_first():
    names = ["fstab.5", "passwd.5", "hosts.5", "fstab"]
    f = Finder(names)
    assert f.find("fstab").tolist() == [3, 0]  # the whole name first, then by occurrences
    assert f.find("5").tolist() == [0, 1, 2]
    with pytest.raises(InputError, match="type a word"):
        f.find("  ,, ")
    assert f.by_name(["hosts.5"]) == [2]
    with pytest.raises(InputError, match="no item named 'nope'"):
        f.by_name(["nope"])


def test_the_page_finds_records_adds_seeds_by_name_and_keeps_where_answers_came_from(unlabelled, tmp_path):
    from starlette.testclient import TestClient

    from elsa.web.app import create_app

    f, y = unlabelled
    with Session.create(tmp_path / "p", f, SearchPlan(budget=30), target="comets") as s:
        c = TestClient(create_app(s), base_url="http://127.0.0.1:8765", headers={"X-Elsa-Client": "1"})
        hits = c.get("/api/find", params={"q": "perihelion orbit"}).json()["items"]
        assert hits and all(y[h["id"]] == 1 for h in hits) and all("text" in h for h in hits)
        assert c.get("/api/find", params={"q": ""}).status_code == 400
        r = c.post("/api/seeds", json={"names": [hits[0]["name"]]})
        assert r.status_code == 200 and r.json()["added"] == [hits[0]["id"]]
        assert c.post("/api/seeds", json={"names": ["r999"]}).json()["error"].startswith("no item named 'r999'")
        other = next(i for i in range(300) if y[i] == 0)
        assert c.post("/api/answer", json={"item": other, "label": "n", "via": "search"}).status_code == 200
        assert c.post("/api/answer", json={"item": other + 2, "label": "n", "via": "mail"}).status_code == 400
        origins = {i: v for i, v in ((r[0], r[2]) for r in s.store.label_history())}
        assert origins[hits[0]["id"]] == "seed" and origins[other] == "search"


def test_browser_finds_a_seed_by_keyword_and_the_search_starts_from_it(unlabelled, tmp_path):
    from test_web import ARTIFACTS, browser_page

    f, y = unlabelled
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=60))  # no seeds, no description: nothing to go on
    s.start_background()
    try:
        with browser_page(s) as page:
            page.wait_for_selector(".tile .card")
            page.fill("#find-q", "perihelion nucleus")
            page.press("#find-q", "Enter")
            page.wait_for_selector("#tab-found.active")
            found = [int(t) for t in page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.id)")]
            assert found and all(y[i] == 1 for i in found)  # only comet records hold both words
            page.click(f'.tile[data-id="{found[0]}"] .card')  # in the found view a click selects
            page.click("#bulk-seed")
            page.wait_for_selector("#tab-batch.active")
            assert s.positive_items().tolist() == [found[0]] and s.examples() == [(found[0], "seed")]
            page.wait_for_selector(f'#examples [title^="#{found[0]} "]')
            # The first page was drawn before there was a seed; once it is answered, the search
            # starts from the seed: its next page is comet records.
            first = s.pending().ids
            s.answer_many([int(i) for i in first if not y[i]], "n")
            for i in first:
                if y[i] and i != found[0]:
                    s.answer(int(i), "y")
            page.wait_for_function(f"!document.querySelector('.tile[data-id=\"{int(first[0])}\"]')", timeout=30_000)
            page.wait_for_selector(".tile .card")
            nxt = [int(t) for t in page.eval_on_selector_all(".tile", "els => els.map(e => e.dataset.id)")]
            assert np.mean(y[nxt]) >= 0.5, nxt
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "label-page-found.png"), full_page=True)
    finally:
        s.close()
