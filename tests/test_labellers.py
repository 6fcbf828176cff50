"""Several labellers (issue 41): each labeller's reliability, second answers in simulation and
in sessions ("please check" cards, agreement, disagreements resolved), and the page."""

import csv
import io
import json

import numpy as np
import pytest
from scipy.special import expit, logit

from elsa.cli import main
from elsa.exceptions import ConflictError, InputError, ParameterError
from elsa.oracle import NoisyOracle, PanelOracle
from elsa.plan import SearchPlan
from elsa.search.reliability import PRIOR_RATE, UNRESOLVED, Votes, estimate, weigh_disputes
from elsa.session import Session
from elsa.simulation import Trial, simulate
from elsa.state import NEGATIVE, POSITIVE

from helpers import make_state
from test_text import topic_csv


def votes(said, users, resolved=None, names=("a", "b")):
    v = Votes(names=tuple(names))
    said, users = np.asarray(said, bool), np.asarray(users)
    v.add(np.arange(len(said)), users[:, 0], said[:, 0], users[:, 1], said[:, 1])
    if resolved is not None:
        v.resolved = np.asarray(resolved, np.int8)
    return v


# --- reliability ------------------------------------------------------------------------


def test_with_no_evidence_each_labeller_keeps_the_prior_rate():
    eps, q = estimate(Votes(names=("a", "b")), 0.5)
    assert eps.tolist() == [PRIOR_RATE, PRIOR_RATE] and q.size == 0


def test_one_disagreement_at_an_even_prior_is_a_coin_and_each_is_blamed_half():
    # One item, a says yes, b says no, prior 1/2, equal rates: q = 1/2 whatever the rates are.
    eps, q = estimate(votes([[True, False]], [[0, 1]]), 0.5)
    assert q[0] == pytest.approx(0.5)
    # Each got one answer, half wrong: (0.5 + 0.1 * 10) / (1 + 10) = 1.5 / 11
    assert eps.tolist() == pytest.approx([1.5 / 11, 1.5 / 11])


def test_resolutions_say_who_was_right_and_disputes_lean_to_the_reliable_one():
    # Ten items both answered; on the first four they disagreed and a resolution sided with a.
    said = [[True, False]] * 4 + [[True, True]] * 6
    v = votes(said, [[0, 1]] * 10, resolved=[1] * 4 + [UNRESOLVED] * 6)
    eps, q = estimate(v, 0.5)
    # The fixed point: a was wrong on none of the resolved items, b on all four; on the six
    # agreements each carries the small chance that both were wrong, 1 - q.
    w = np.log((1 - eps) / eps)
    both_wrong = 1 - expit(w[0] + w[1])
    assert q[4:] == pytest.approx(1 - both_wrong) and q[:4].tolist() == [1, 1, 1, 1]
    assert eps[0] == pytest.approx((1 + 6 * both_wrong) / 20) and eps[1] == pytest.approx((1 + 4 + 6 * both_wrong) / 20)
    assert eps[0] < 0.06 < 0.25 < eps[1]
    # A fresh dispute (a: no, b: yes) now leans to a's answer by the two rates' log-odds.
    v.add([10], [0], [False], [1], [True])
    eps, q = estimate(v, 0.5)
    w = np.log((1 - eps) / eps)
    assert q[10] == pytest.approx(expit(-w[0] + w[1])) and q[10] < 0.3


def test_weigh_disputes_changes_only_the_disputed_items_and_clears_when_resolved():
    X = np.zeros((6, 2), np.float32)
    s = make_state(X, positives=[0, 1, 2], negatives=[3, 4])
    s.votes = votes([[True, True], [False, True]], [[0, 1], [0, 1]])
    s.votes.items = np.array([1, 3])
    weigh_disputes(s)
    eps, q = estimate(s.votes, 3 / 5)
    expected = (s.answers == POSITIVE).astype(float)
    expected[3] = q[1]
    assert np.allclose(s.belief, expected) and 0 < s.belief[3] < 1
    s.votes.resolved[1] = 0
    weigh_disputes(s)
    assert s.belief is None  # nothing disputed: the answers stand


# --- simulation -------------------------------------------------------------------------


def test_a_resolver_answers_the_disagreements_within_the_labels_left():
    truth = np.arange(40) % 2 == 0
    ids = np.arange(40)
    panel = PanelOracle(truth, (0.5, 0.5), 1.0, 3, resolver_rate=0.0)
    first = panel.label(ids)
    second = panel.second_opinions(ids, first, limit=45)
    disputed = second.said != first
    settled = second.resolved >= 0
    assert disputed.sum() > 5 and settled.sum() == 5  # 40 second answers, then 5 labels left
    assert np.array_equal(np.flatnonzero(settled), np.flatnonzero(disputed)[:5])
    assert np.array_equal(second.resolved[settled] == 1, truth[second.ids[settled]])  # always right


def test_a_panel_with_no_share_is_the_noisy_oracle_and_a_second_labeller_is_another():
    truth = np.arange(400) % 3 == 0
    ids = np.arange(0, 400, 2)
    noisy = NoisyOracle(truth, 0.2, 7).label(ids)
    panel = PanelOracle(truth, (0.2, 0.2, 0.2), 0.25, 7)
    first = panel.label(ids)
    assert np.array_equal(first, noisy)  # the same mistakes: runs are paired
    second = panel.second_opinions(ids, first)
    assert 30 <= second.ids.size <= 70 and np.all(second.first != second.second)
    assert np.array_equal(second.first, panel.labeller_of(second.ids))
    assert second.ids.size == PanelOracle(truth, (0.2, 0.2, 0.2), 0.25, 7).second_opinions(ids, first).ids.size
    assert PanelOracle(truth, (0.0,), 1.0, 1).second_opinions(ids, first, limit=5).ids.tolist() == ids[:5].tolist()


def test_simulated_double_labels_are_labels_and_disagreements_are_weighed(digits):
    X, y = digits
    plan = SearchPlan(budget=120, random_state=3)
    single = simulate(X, y, 3, plan, trial=Trial(labellers=(0.2, 0.2), progress=False))["runs"][0]
    same = simulate(X, y, 3, plan, trial=Trial(noise=0.2, progress=False))["runs"][0]
    assert single["found"] == same["found"] and single["double_labels"] == 0
    kinds = []
    trial = Trial(labellers=(0.05, 0.3), double_share=0.3, found_at=(120,), progress=False)
    run = simulate(X, y, 3, plan, trial=trial, on_round=lambda r, rnd, st, status: kinds.append(rnd.kind))["runs"][0]
    assert run["queries"] == 120 and 15 <= run["double_labels"] <= 60  # second answers spent from the budget
    assert run["disputes"] > 0 and len(run["flip_rate_estimates"]) == 2
    assert set(kinds) == {"epoch"} and run["found_at"]["120"] == run["found"]  # called with pages; finds once each
    # A resolver who is always right settles every disagreement with the truth, which stands.
    trial = Trial(labellers=(0.3, 0.3), double_share=0.5, resolver_rate=0.0, progress=False)
    doc = simulate(X, y, 3, plan, trial=trial)
    run = doc["runs"][0]
    assert run["resolutions"] == run["disputes"] > 0 and run["queries"] == 120
    assert doc["params"]["resolver_rate"] == 0.0
    with pytest.raises(ParameterError, match="--double-share"):
        Trial(double_share=0.1)
    with pytest.raises(ParameterError, match="--resolver-rate"):
        Trial(labellers=(0.1,), resolver_rate=0.0)
    with pytest.raises(ParameterError, match="not both"):
        Trial(noise=0.1, labellers=(0.1,))


def test_elsa_simulate_takes_labellers_and_a_double_share(digits, tmp_path, capsys):
    X, y = digits
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    args = ["simulate", "--embeddings", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy"), "--target", "3",
            "--budget", "80", "--quiet"]
    assert main([*args, "--labellers", "0.1,0.2", "--double-share", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "labellers wrong 10%/20% of the time, 20% of items to two" in out and "second labellers:" in out
    with pytest.raises(SystemExit) as exc:
        main([*args, "--labellers", "0.6"])
    assert exc.value.code == 2 and "from 0 to 0.5" in capsys.readouterr().err


# --- sessions ---------------------------------------------------------------------------


@pytest.fixture
def two_labellers(tmp_path):
    """A text session (300 records, comets are class 1) where every item goes to two."""
    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=60), target="comets", seeds=["r0", "r1"], user="alice",
                       double_share=1.0)
    yield s, y
    s.close()


def answer_page(s, y, user, wrong=()):
    for i in s.next_batch().ids:
        right = bool(y[i])
        s.answer(int(i), "y" if right != (int(i) in wrong) else "n", user=user)


def test_checks_go_blind_to_another_labeller_and_disagreements_are_resolved(two_labellers, tmp_path):
    s, y = two_labellers
    page = s.next_batch().ids.tolist()
    answer_page(s, y, "alice")
    assert s.checks.waiting_for("alice") == []  # her own answers do not come back to her
    waiting = s.checks.waiting_for("bob")
    assert [i for i, _ in waiting] == page and {r for _, r in waiting} == {"double"}
    with pytest.raises(InputError, match="alice answered item .* first; its check goes to another labeller"):
        s.check(page[0], "y", user="alice")
    wrong = page[0]
    for i in page:
        s.check(i, ("n" if y[i] else "y") if i == wrong else ("y" if y[i] else "n"), user="bob")
    with pytest.raises(ConflictError, match="already checked by bob"):
        s.check(page[1], "y", user="carol")
    assert s.labels()[wrong] == (POSITIVE if y[wrong] else NEGATIVE)  # a check does not change the label
    a = s.checks.agreement()
    pair = a["pairs"][0]
    assert pair["users"] == ["alice", "bob"] and pair["items"] == len(page) and pair["agree"] == len(page) - 1
    from sklearn.metrics import cohen_kappa_score

    first = ["positive" if y[i] else "negative" for i in page]
    second = [("negative" if y[i] else "positive") if i == wrong else f for i, f in zip(page, first)]
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(first, second), abs=1e-3)
    assert a["disagreements"] == 1 and [d["item"] for d in s.checks.disagreements()] == [wrong]
    # The search weighs the dispute: the item's belief is between the two answers.
    state = s.driver.state()
    s.search.weigh(state)
    assert 0 < state.belief[wrong] < 1 and state.budget_left == 60 - 2 * len(page)
    # Resolved, it is the resolution; both answers and the resolution stay in the history.
    with pytest.raises(InputError, match="not a disagreement"):
        s.resolve(page[1], "y", user="carol")
    with pytest.raises(InputError, match="resolved positive or negative, got unsure"):
        s.resolve(wrong, "u", user="carol")
    with pytest.raises(ConflictError, match="bob has checked the answer to item .* since; undo that check first"):
        s.undo(s.item_labels([wrong])[wrong]["event"], user="alice")
    s.resolve(wrong, "n", user="carol")
    assert s.labels()[wrong] == NEGATIVE and s.checks.agreement()["disagreements"] == 0
    with pytest.raises(ConflictError, match="already resolved negative by carol"):
        s.resolve(wrong, "y", user="dave")
    s.export(tmp_path / "labels.csv")
    rows = {r["record_id"]: r for r in csv.DictReader(io.StringIO((tmp_path / "labels.csv").read_text()))}
    row = rows[f"r{wrong}"]
    said = "positive" if y[wrong] else "negative"
    other = "negative" if y[wrong] else "positive"
    assert row["label"] == "negative" and row["origin"] == "resolve" and row["user"] == "carol"
    assert row["answers"] == f"alice: {said}; bob: {other} (check); carol: negative (resolve)"
    s.export(tmp_path / "labels.jsonl")
    doc = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert [a["user"] for a in next(d for d in doc if d["id"] == wrong)["answers"]] == ["alice", "bob", "carol"]


def test_a_reopened_session_has_the_same_agreement_and_pending_checks(two_labellers):
    s, y = two_labellers
    page = s.next_batch().ids.tolist()
    answer_page(s, y, "alice", wrong={page[0]})
    s.check(page[0], "y" if y[page[0]] else "n", user="bob")
    s.check(page[1], "y" if y[page[1]] else "n", user="bob")
    s.undo(user="bob")  # the latest answer is the check: taken back alone, it waits again; the label stays
    assert s.labels()[page[1]] != 0 and (page[1], "double") in s.checks.waiting_for("bob")
    before = (s.checks.agreement(), s.checks.waiting_for("bob"), s.checks.reliability())
    folder = s.folder
    s.close()
    with Session.open(folder, user="bob") as again:
        assert (again.checks.agreement(), again.checks.waiting_for("bob"), again.checks.reliability()) == before
        assert before[0]["disagreements"] == 1 and (page[1], "double") in before[1]
    two_labellers_reopened = Session.open(folder)  # the fixture closes what it opened
    two_labellers_reopened.close()


def test_second_looks_the_search_asks_for_are_a_round_it_waits_for(tmp_path):
    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    with Session.create(tmp_path / "p", f, SearchPlan(budget=60, second_looks=True), target="comets",
                        seeds=["r0", "r1"], user="alice") as s:
        first = s.next_batch().ids.tolist()
        answer_page(s, y, "alice", wrong={first[0]})  # a comet answered "no" among comets
        batch = s.next_batch()
        assert batch.kind == "check" and batch.ids.tolist() == [first[0]]
        assert s.checks.waiting_for("alice") == [(int(i), "second-look") for i in batch.ids]
        assert len(s.next_batch()) == len(batch)  # no new page while the checks wait
        for i in batch.ids:  # the same person may look again
            s.check(int(i), "y" if y[i] else "n", user="alice")
        assert s.next_batch().kind == "epoch"
        assert s.checks.agreement()["pairs"][0]["users"] == ["alice", "alice"]


def test_checks_are_given_only_while_the_budget_has_room_for_them(tmp_path):
    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    with Session.create(tmp_path / "p", f, SearchPlan(budget=25), target="comets", seeds=["r0", "r1"], user="alice",
                        double_share=1.0) as s:
        while len(batch := s.next_batch()):
            for i in batch.ids:
                s.answer(int(i), "y" if y[i] else "n")
            for i, _ in s.checks.waiting_for("bob"):
                s.check(i, "y" if y[i] else "n", user="bob")
        p = s.progress()
        assert p.labels == 25 and s.checks.records.count_answered() > 0 and s.finished()


def test_sessions_of_format_4_gain_the_checks_table(tmp_path):
    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    with Session.create(tmp_path / "p", f, SearchPlan(budget=30), seeds=["r0"]) as s:
        s.answer(int(s.next_batch().ids[0]), "n")
        s.store.query("DROP TABLE checks")
        s.store.query("UPDATE meta SET value = '4' WHERE key = 'schema'")
    with Session.open(tmp_path / "p") as s:
        assert s.store.meta()["schema"] == 5 and s.checks.agreement()["pairs"] == []
        s.set_double_share(0.5)
        assert s.settings["double_share"] == 0.5


def test_the_page_checks_and_resolves_through_the_api(two_labellers):
    from starlette.testclient import TestClient

    from elsa.web.app import create_app

    s, y = two_labellers
    page = s.next_batch().ids.tolist()
    answer_page(s, y, "alice")
    c = TestClient(create_app(s), base_url="http://127.0.0.1:8765", headers={"X-Elsa-Client": "1"})
    batch = c.get("/api/state", headers={"X-Elsa-User": "bob"}).json()["batch"]
    cards = [b for b in batch if b.get("check")]
    assert [b["id"] for b in cards] == page and all(b["label"] is None for b in cards)  # blind
    assert not [b for b in batch if b["id"] in page and not b.get("check")]  # the round's own tiles are not shown
    assert not [b for b in c.get("/api/state", headers={"X-Elsa-User": "alice"}).json()["batch"] if b.get("check")]
    r = c.post("/api/check", json={"item": page[0], "label": "n" if y[page[0]] else "y"}, headers={"X-Elsa-User": "bob"})
    assert r.status_code == 200
    assert c.post("/api/check", json={"item": page[0], "label": "y"}, headers={"X-Elsa-User": "eve"}).status_code == 409
    listed = c.get("/api/list/disagreements").json()["items"]
    assert [d["id"] for d in listed] == [page[0]] and [a["user"] for a in listed[0]["answers"]] == ["alice", "bob"]
    assert c.post("/api/resolve", json={"item": page[1], "label": "y"}).status_code == 400
    assert c.post("/api/resolve", json={"item": page[0], "label": "maybe"}).status_code == 400
    assert c.post("/api/resolve", json={"item": page[0], "label": "y" if y[page[0]] else "n"}).status_code == 200
    assert c.get("/api/state").json()["agreement"]["disagreements"] == 0


def test_labellers_at_work_on_one_page_each_see_their_share_of_it_first(tmp_path):
    from starlette.testclient import TestClient

    from elsa.web.app import create_app

    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    with Session.create(tmp_path / "p", f, SearchPlan(budget=60), seeds=["r0"], user="alice") as s:
        page = s.next_batch().ids.tolist()
        c = TestClient(create_app(s), base_url="http://127.0.0.1:8765")
        state = lambda user: c.get("/api/state", headers={"X-Elsa-User": user}).json()  # noqa: E731
        alone = state("alice")
        assert [b["id"] for b in alone["batch"]] == page and alone["sharing"] == []
        bob = state("bob")  # two at work: bob (second by name) gets positions 1, 3, 5, ... first
        assert [b["id"] for b in bob["batch"]] == page[1::2] + page[0::2] and bob["sharing"] == ["alice"]
        alice = state("alice")
        assert [b["id"] for b in alice["batch"]] == page[0::2] + page[1::2] and alice["sharing"] == ["bob"]


def test_elsa_label_takes_a_double_share_at_the_start_and_on_resume(tmp_path):
    from elsa.cli_label import _label_session
    from elsa.cli_parser import build_parser

    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    parse = build_parser().parse_args
    with _label_session(parse(["label", str(tmp_path / "p"), "--records", str(f), "--seed-ids", "r0",
                               "--double-share", "0.25", "--user", "alice"])) as s:
        assert s.settings["double_share"] == 0.25
        page = s.next_batch().ids
        doubled = [i for i, _ in s.store.query("SELECT item, reason FROM checks")]
        assert 0 < len(doubled) < len(page) and set(doubled) <= set(page.tolist())
    with _label_session(parse(["label", str(tmp_path / "p"), "--resume"])) as s:
        assert s.settings["double_share"] == 0.25  # kept
    with _label_session(parse(["label", str(tmp_path / "p"), "--resume", "--double-share", "0"])) as s:
        assert s.settings["double_share"] == 0.0
    with pytest.raises(SystemExit):
        parse(["label", str(tmp_path / "p"), "--resume", "--double-share", "1.5"])


# --- the page, in a browser -------------------------------------------------------------


def _user_page(browser, url: str, user: str):
    """A page of its own for ``user`` (a browser context each: their own name, their own tabs)."""
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(url)
    page.fill("#user", user)
    page.dispatch_event("#user", "change")
    page.wait_for_selector(".tile")
    return page


def _check_cards(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all(".tile:has(.tag.check)", "els => els.map(e => e.dataset.id)")]


def test_two_labellers_check_each_other_agree_resolve_and_reopen_in_the_browser(tmp_path):
    from test_web import ARTIFACTS, REQUIRE_BROWSER, chromium

    if not chromium and not REQUIRE_BROWSER:
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    from playwright import sync_api

    from elsa.web.server import LiveServer

    f, y = topic_csv(tmp_path / "u.csv", labelled=False)
    s = Session.create(tmp_path / "p", f, SearchPlan(budget=60), target="comets", seeds=["r0", "r1"], user="alice",
                       double_share=1.0)
    s.start_background()
    try:
        with LiveServer(s) as srv, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            alice, bob = _user_page(browser, srv.url, "alice"), _user_page(browser, srv.url, "bob")
            alice.wait_for_function("document.getElementById('status').textContent"
                                    ".includes('You share this page with bob')", timeout=15_000)
            page = s.pending().ids.tolist()
            for i in page:  # alice answers the first page, every answer right
                alice.click(f'.tile[data-id="{i}"] button[data-l="{"positive" if y[i] else "negative"}"]')
            alice.wait_for_function(f"!document.querySelector('.tile[data-id=\"{page[0]}\"]')", timeout=30_000)
            assert _check_cards(alice) == []  # her answers do not come back to her
            bob.wait_for_function(f"document.querySelectorAll('.tile .tag.check').length === {len(page)}",
                                  timeout=30_000)
            assert _check_cards(bob) == page
            assert f'{len(page)} "please check" cards are yours' in bob.inner_text("#status")
            assert bob.inner_text(f'.tile[data-id="{page[0]}"] .tag') == "please check"
            assert not bob.query_selector(f'.tile[data-id="{page[0]}"] .badge')  # blind: alice's answer not shown
            wrong, left = page[0], page[-1]
            bob.click(f'.tile[data-id="{page[1]}"] button[data-l="unsure"]')  # a check taken back waits again
            bob.wait_for_selector(f'.tile.unsure[data-id="{page[1]}"]')
            bob.keyboard.press("Backspace")
            bob.wait_for_selector(f'.tile[data-id="{page[1]}"]:not(.unsure):not(.positive):not(.negative)')
            assert page[1] in [i for i, _ in s.checks.waiting_for("bob")]
            for i in page[:-1]:  # bob checks all but the last; he says the opposite about the first
                said = bool(y[i]) != (i == wrong)
                bob.click(f'.tile[data-id="{i}"] button[data-l="{"positive" if said else "negative"}"]')
            bob.wait_for_function("document.querySelectorAll('.tile .tag.check').length === 1", timeout=30_000)
            bob.click("#tab-agreement")
            bob.wait_for_selector(f'.tile[data-id="{wrong}"] .answers')
            truth, other = ("yes", "no") if y[wrong] else ("no", "yes")
            assert bob.inner_text(f'.tile[data-id="{wrong}"] .answers') == f"alice: {truth} · bob: {other}"
            kappa = s.checks.agreement()["pairs"][0]["kappa"]
            assert bob.inner_text("#agreement .pair .kappa") == f"κ = {kappa:.2f}"
            assert "1 disagreement to resolve" in bob.inner_text("#agreement") and bob.inner_text("#n-disagree") == "1"
            ARTIFACTS.mkdir(exist_ok=True)
            bob.screenshot(path=str(ARTIFACTS / "label-page-agreement.png"), full_page=True)
            bob.click(f'.tile[data-id="{wrong}"] button[data-l="{"positive" if y[wrong] else "negative"}"]')
            bob.wait_for_function("document.getElementById('n-disagree').textContent === '0'", timeout=30_000)
            assert s.checks.disagreements() == [] and s.labels()[wrong] == (POSITIVE if y[wrong] else NEGATIVE)
            export = bob.request.get(f"{srv.url}/api/export/csv").text()
            row = next(r for r in csv.DictReader(io.StringIO(export)) if r["record_id"] == f"r{wrong}")
            assert row["answers"] == (f"alice: {'positive' if y[wrong] else 'negative'}; "
                                      f"bob: {'negative' if y[wrong] else 'positive'} (check); "
                                      f"bob: {'positive' if y[wrong] else 'negative'} (resolve)")
            shown = bob.inner_text("#agreement .pair")
            browser.close()
        before = s.checks.agreement()
    finally:
        s.close()
    s = Session.open(tmp_path / "p", user="alice")  # reopened: the same agreement, the same check waiting
    s.start_background()
    try:
        assert s.checks.agreement() == before and (left, "double") in s.checks.waiting_for("bob")
        with LiveServer(s) as srv, sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            bob = _user_page(browser, srv.url, "bob")
            bob.wait_for_selector(f'.tile[data-id="{left}"] .tag.check')
            bob.click("#tab-agreement")
            bob.wait_for_selector("#agreement .pair")
            assert bob.inner_text("#agreement .pair") == shown
            browser.close()
    finally:
        s.close()
