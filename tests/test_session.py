"""Labelling sessions: the search driven by a person, durable in SQLite."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.simulation import Trial
from elsa.exceptions import ConflictError, InputError, ParameterError, StorageError
from elsa.oracle import SimulatedOracle
from elsa.search import STRATEGIES, make_strategy
from elsa.simulation import simulate
from elsa.session import DB_NAME, Session
from elsa.session.audit import SessionAudit
from elsa.state import NEGATIVE, POSITIVE, UNSURE
from elsa.stopping import SampleCertificate


@pytest.fixture
def pool(tmp_path):
    """300 points in 8-d: 270 negatives in two blobs, 30 positives in a third; a manifest of names."""
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(0, 1, (150, 8)), rng.normal(5, 1, (120, 8)), rng.normal(-5, 1, (30, 8))]).astype(np.float32)
    truth = np.r_[np.zeros(270, bool), np.ones(30, bool)]
    path = tmp_path / "emb.npy"
    np.save(path, X)
    (tmp_path / "emb.manifest.json").write_text(json.dumps({"items": [f"img/{i:03d}.png" for i in range(300)]}))
    return path, X, truth


def answer_all(session, truth, limit=None):
    """Answer pending items from ground truth until the session finishes (or ``limit`` answers)."""
    n = 0
    while limit is None or n < limit:
        batch = session.next_batch()
        if not len(batch):
            return n
        for i in batch.ids:
            if limit is not None and n >= limit:
                return n
            session.answer(i, bool(truth[i]))
            n += 1
    return n


def rounds_of(session):
    rows = session.store.query("SELECT round, kind, item FROM round_items JOIN rounds USING (round) ORDER BY round, pos")
    out = {}
    for rnd, kind, item in rows:
        out.setdefault((rnd, kind), []).append(item)
    return list(out.values())


def test_nn_session_proposes_what_the_loop_asks(pool, tmp_path):
    # The nn strategy draws no random numbers, so the person-driven session must ask for
    # exactly the batches the batch loop gives its simulated oracle.
    path, X, truth = pool
    seeds = [270, 271]
    loop = make_strategy("nn", epochs=4, a=10).run(X, seeds, SimulatedOracle(truth), random_state=0)
    with Session.create(tmp_path / "s", path, SearchPlan("nn", params={"a": 10}, epochs=4), seeds=seeds) as s:
        answer_all(s, truth)
        assert [list(r.ids) for r in loop.rounds] == rounds_of(s)
        p = s.progress()
        assert (p.queries, p.labels, p.found, p.seeds) == (loop.queries, loop.queries, int(truth[loop.queried_ids].sum()), 2)
        assert p.status == "done" and p.message == "all epochs and the final search are done"
        assert p.curve[-1] == (loop.queries, int(truth[loop.queried_ids].sum()))
        assert s.search_curve() == loop.curve(truth)  # what the knee rule reads


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_session_proposes_the_rounds_simulate_asks_about(pool, tmp_path, strategy):
    # One loop, one stopping interface, one random stream: a session answered from the truth
    # proposes exactly the rounds `elsa simulate` asks its oracle about with the same random
    # state; killed mid-round and reopened, it continues the same stream.
    path, X, truth = pool
    asked = []
    doc = simulate(X, truth.astype(int), 1, SearchPlan(strategy, budget=60, random_state=5), seeds=[270, 280],
                   trial=Trial(progress=False),
                   on_round=lambda r, rnd, st, status: asked.append([int(i) for i in rnd.ids]))
    with Session.create(tmp_path / "s", path, SearchPlan(strategy, budget=60, random_state=5), seeds=[270, 280]) as s:
        answer_all(s, truth, limit=37)
    with Session.open(tmp_path / "s") as s:
        answer_all(s, truth)
        assert rounds_of(s) == asked
        assert s.settings["stop_reason"] == doc["runs"][0]["stop_reason"]


def test_an_extended_session_retrains_the_head_before_its_next_epoch(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan("elsa", params={"a": 10, "b": 10, "l": 10}, epochs=2),
                        seeds=[270, 280]) as s:
        answer_all(s, truth)
        assert s.finished() and s.store.rounds.last_round()["kind"] == "final"
        s.extend(1)
        s.next_batch()
        last = s.store.query("SELECT kind, seconds FROM rounds ORDER BY round DESC LIMIT 1")[0]
        assert last[0] == "epoch" and "head" in json.loads(last[1])  # the head was fitted for it


def test_elsa_session_finds_positives_and_names_items(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan(epochs=3), target="blob", seeds=[270, 280]) as s:
        batch = s.next_batch()
        assert batch.names[0] == f"img/{batch.ids[0]:03d}.png" and batch.kind == "epoch"
        answer_all(s, truth)
        p = s.progress()
        assert p.found == 28  # every positive but the two seeds
        assert p.status == "done" and 1 <= p.epoch <= 3
        assert set(s.positive_items()) == set(np.flatnonzero(truth))


@pytest.mark.parametrize("strategy, epochs, stop_at, params", [
    ("elsa", 4, 70, None), ("blend", "auto", 75, None), ("portfolio", "auto", 75, None),
    ("portfolio", "auto", 75, {"rankings": "knn,blend:0.01,blend:1,mlp"})])
def test_kill_and_reopen_proposes_the_same_rounds(pool, tmp_path, strategy, epochs, stop_at, params):
    path, X, truth = pool
    plan = SearchPlan(strategy, params=params, budget=150, epochs=epochs)
    with Session.create(tmp_path / "a", path, plan, seeds=[270]) as a:
        answer_all(a, truth)
        expected = rounds_of(a)
    b = Session.create(tmp_path / "b", path, plan, seeds=[270])
    answer_all(b, truth, limit=stop_at)  # stops in the middle of a round
    b.close()
    with Session.open(tmp_path / "b") as b:
        assert b.progress().labels == stop_at
        answer_all(b, truth)
        assert rounds_of(b) == expected
        assert b.progress().queries == 150 and b.settings["stop_reason"] == "budget"


def test_first_answer_wins_and_unsure_can_be_revisited(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, seeds=[270]) as s:
        item = int(s.next_batch().ids[0])
        s.answer(item, "u", user="ann")
        with pytest.raises(ConflictError, match="answered 'unsure' by ann") as err:
            s.answer(item, "y", user="bob")
        assert err.value.current == "unsure"
        s.answer(item, "y", expect="unsure", user="bob")
        assert s.item_labels([item])[item]["label"] == "positive"
        out = s.answer_many([item, int(s.next_batch().ids[1])], "n")
        assert list(out["conflicts"]) == [item] and out["conflicts"][item] == "positive"
        assert len(out["events"]) == 1


def test_undo_walks_back_through_an_items_answers(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, seeds=[270]) as s:
        batch = s.next_batch()
        item = int(batch.ids[0])
        e1 = s.answer(item, "unsure")
        e2 = s.answer(item, "negative", expect="unsure")
        assert s.undo(e2) == (item, "unsure")
        with pytest.raises(ConflictError):
            s.undo(e2)  # already taken back: no longer the item's current answer
        assert s.undo() == (item, None)  # the latest answer: e1
        assert item in s.pending().ids and s.labels()[item] == 0
        with pytest.raises(InputError, match="nothing to undo"):
            s.undo()  # seeds are not undone by a bare undo
        events = s.store.query("SELECT label, undoes FROM events WHERE item = ? ORDER BY id", (item,))
        assert events == [("unsure", None), ("negative", None), ("undo", e2), ("undo", e1)]


def test_unsure_items_are_not_trained_on_nor_proposed_again(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan(epochs=3), seeds=[270]) as s:
        first = s.next_batch()
        for i in first.ids:
            s.answer(i, "unsure" if i % 2 else bool(truth[i]))
        state = s.driver.state()
        odd = first.ids[first.ids % 2 == 1]
        assert (state.answers[odd] == UNSURE).all() and not state.decided[odd].any()
        second = s.next_batch()
        assert not set(second.ids) & set(first.ids)
        assert s.progress().unsure == odd.size
        assert list(s.unsure_items()) == sorted(odd.tolist(), key=lambda i: list(first.ids).index(i))


def test_seeds_added_later_join_the_frontier_and_are_not_charged(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan(epochs=5), seeds=[270]) as s:
        batch = s.next_batch()
        for i in batch.ids:
            s.answer(i, bool(truth[i]))
        # the person says two items of another blob are positives too (truth aside)
        new = [int(i) for i in np.flatnonzero(s.labels() == 0)[:2]]
        assert s.add_seeds(new + [270]) == new  # 270 is already a seed
        state = s.driver.state()
        last_round_positives = batch.ids[truth[batch.ids]]
        assert set(state.frontier) == set(last_round_positives) | set(new)
        assert state.queries == batch.ids.size  # seeds are not oracle queries
        near = s.similar(new[0], k=3)
        order = np.argsort(((X - X[new[0]]) ** 2).sum(1))
        unlabelled = order[s.labels()[order] == 0]
        assert list(near) == list(unlabelled[:3])
        with pytest.raises(InputError, match="no item 300"):
            s.add_seeds([300])


def test_export_then_import_into_a_new_session(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "a", path, SearchPlan(epochs=1), seeds=[270]) as a:
        answer_all(a, truth, limit=40)
        a.answer(5, "unsure")
        n = a.export(tmp_path / "labels.csv")
        a.export(tmp_path / "labels.jsonl")
        a.export(tmp_path / "positives.txt")
        labels = a.labels()
    assert n == int((labels != 0).sum())
    rows = (tmp_path / "labels.csv").read_text().splitlines()
    assert rows[0] == "id,item,label,origin,user,at,answers" and rows[1].startswith("270,img/270.png,positive,seed,")
    positives = (tmp_path / "positives.txt").read_text().split()
    assert positives == [f"img/{i:03d}.png" for i in np.flatnonzero(labels == POSITIVE)] or set(positives) == {
        f"img/{i:03d}.png" for i in np.flatnonzero(labels == POSITIVE)}
    with Session.create(tmp_path / "b", path, labels_from=tmp_path / "labels.jsonl") as b:
        assert np.array_equal(b.labels(), labels)
        assert b.progress().queries == 0  # imported labels are not this session's queries


def test_imported_negatives_train_the_head_before_the_first_round(pool, tmp_path):
    path, X, truth = pool
    (tmp_path / "old.csv").write_text("id,label\n270,positive\n" + "".join(f"{i},negative\n" for i in range(10)))
    with Session.create(tmp_path / "s", path, SearchPlan("elsa"), labels_from=tmp_path / "old.csv") as s:
        s.next_batch()
        first = json.loads(s.store.query("SELECT seconds FROM rounds ORDER BY round LIMIT 1")[0][0])
        assert "head" in first


def test_a_budget_stop_is_raised_by_set_budget(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan("random", params={"batch_size": 10}, stop="budget:20"),
                        seeds=[270]) as s:
        answer_all(s, truth)
        assert s.settings["stop_reason"] == "budget" and s.progress().queries == 20
        s.set_budget(40)
        answer_all(s, truth)
        assert s.progress().queries == 40


def test_import_errors_name_the_line(pool, tmp_path):
    path, X, truth = pool
    bad = tmp_path / "bad.csv"
    bad.write_text("item,label\nimg/001.png,yes\nimg/999.png,no\n")
    with pytest.raises(InputError, match=r"bad.csv, line 3: item 'img/999.png' is not in the session's pool"):
        Session.create(tmp_path / "s", path, labels_from=bad)
    assert not (tmp_path / "s" / DB_NAME).exists()  # checked before anything was written
    bad.write_text("item,label\nimg/001.png,maybe\n")
    with Session.create(tmp_path / "t", path) as s:
        with pytest.raises(InputError, match="line 2: unknown label 'maybe'"):
            s.import_labels(bad)
        assert not s.labels().any()


def test_a_full_disk_fails_one_answer_and_keeps_the_others(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, seeds=[270]) as s:
        todo = np.flatnonzero(s.labels() == 0)
        pages = s.store.query("PRAGMA page_count")[0][0]
        s.store.query(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full disk
        saved = []
        with pytest.raises(StorageError, match="the disk is full; every earlier answer is saved"):
            for i in todo:
                s.answer(i, "negative")
                saved.append(int(i))
        assert saved  # answers fit into the free space of the last page, until it ran out
        assert set(np.flatnonzero(s.labels() == NEGATIVE)) == set(saved)
        s.store.query("PRAGMA max_page_count = 1073741823")
        s.answer(todo[len(saved)], "negative")  # space again: labelling goes on
    with Session.open(tmp_path / "s") as s:
        assert (s.labels() == NEGATIVE).sum() == len(saved) + 1


def test_a_crash_in_the_search_keeps_answers_and_can_be_retried(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan(epochs=3), seeds=[270]) as s:
        s.start_background()
        first = s.next_batch(timeout=30)
        real = s.search.select_epoch

        def broken(state, rng):
            raise RuntimeError("sampler exploded")

        s.search.select_epoch = broken
        for i in first.ids:
            s.answer(i, bool(truth[i]))
        assert not len(s.next_batch(timeout=30))
        assert s.status == "error" and "RuntimeError: sampler exploded" in s.message
        assert (s.labels() != 0).sum() == first.ids.size + 1
        s.search.select_epoch = real
        s.retry()
        assert len(s.next_batch(timeout=30)) and s.status == "labelling"


def test_one_process_per_project_and_pool_must_not_change(pool, tmp_path):
    path, X, truth = pool
    s = Session.create(tmp_path / "s", path, seeds=[270])
    with pytest.raises(InputError, match="already open"):
        Session.open(tmp_path / "s")
    with pytest.raises(InputError, match="already holds a session"):
        Session.create(tmp_path / "s", path)
    s.close()
    np.save(path, X + 1)
    with pytest.raises(InputError, match="changed since the session began"):
        Session.open(tmp_path / "s")
    with pytest.raises(InputError, match="no session in"):
        Session.open(tmp_path / "nothing")


def test_bad_arguments_are_named(pool, tmp_path):
    path, X, truth = pool
    with pytest.raises(ParameterError, match=r"seed ids \[300\] are outside"):
        Session.create(tmp_path / "s", path, seeds=[300])
    with pytest.raises(ParameterError, match="seeds 'nope.png' name no item of the pool"):
        Session.create(tmp_path / "s", path, seeds=["nope.png"])
    with pytest.raises(ParameterError, match="strategy"):
        Session.create(tmp_path / "s", path, SearchPlan("best"))
    assert not (tmp_path / "s" / DB_NAME).exists()
    with Session.create(tmp_path / "s", path, seeds=["img/270.png"]) as s:
        assert list(s.positive_items()) == [270]
        with pytest.raises(ParameterError, match="unknown label 'maybe'"):
            s.answer(0, "maybe")
        with pytest.raises(InputError, match="no item -1"):
            s.answer(-1, "y")


CRASH_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from elsa.plan import SearchPlan
    from elsa.session import Session
    folder, emb, truth = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
    s = Session.create(folder, emb, SearchPlan("elsa", epochs=4, budget=150), seeds=[270])
    while True:
        ids = s.next_batch().ids
        if not ids.size:
            break
        for i in ids:
            event = s.answer(i, bool(truth[i]))
            print(event, int(i), flush=True)
""")


def test_sigkill_mid_batch_loses_no_committed_answer(pool, tmp_path):
    path, X, truth = pool
    np.save(tmp_path / "truth.npy", truth)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "s"), str(path), str(tmp_path / "truth.npy")],
                            stdout=subprocess.PIPE, text=True, env=env)
    committed = []
    for line in proc.stdout:
        committed.append(tuple(int(t) for t in line.split()))
        if len(committed) == 120:  # past the first round, in the middle of the second
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Session.open(tmp_path / "s") as s:
        saved = s.item_labels([item for _, item in committed])
        for event, item in committed:
            assert saved[item]["event"] == event
            assert saved[item]["label"] == ("positive" if truth[item] else "negative")
        answer_all(s, truth)
        resumed = rounds_of(s)
    with Session.create(tmp_path / "ref", path, SearchPlan("elsa", budget=150, epochs=4), seeds=[270]) as ref:
        answer_all(ref, truth)
        assert resumed == rounds_of(ref)


def test_demo_session_is_created_then_reopened(tmp_path):
    from io import BytesIO

    from PIL import Image

    from elsa.session.demo import open_demo_session

    said = []
    with open_demo_session(tmp_path / "demo", progress=False, log=said.append) as s:
        assert s.X.shape == (9091, 1280) and s.settings["target"] == "T-shirt/top"
        assert s.positive_items().size == 5 and "91 of them" in said[0]
        item = int(s.next_batch().ids[0])
        data, media = s.images.encoded(item)
        assert media == "image/png" and Image.open(BytesIO(data)).size == (140, 140)  # 28 px x 5, hard edges
        s.answer(item, "n")
    with open_demo_session(tmp_path / "demo", progress=False, log=said.append) as s:
        assert said[-1].startswith("reopening") and s.labels()[item] == NEGATIVE


def test_recall_stop_audits_the_unlabelled_items_after_the_search(pool, tmp_path):
    """audit:R@C in a session: the search hands over, audit rounds of items unlabelled at the
    hand-over follow in the pool permutation's order, a reopened session keeps the same
    design, and the session ends certified with the simulation's certificate."""
    path, X, truth = pool
    folder = tmp_path / "s"
    with Session.create(folder, path, SearchPlan(stop="audit:0.8@0.9"), seeds=[270]) as s:
        c = s.certificate()
        assert c["phase"] == "search" and c["labels_to_certificate"] > 0
        batch = s.next_batch()
        while s.settings.get("hand_over") is None:
            for i in batch.ids:
                s.answer(i, bool(truth[i]))
            batch = s.next_batch()
        h = s.settings["hand_over"]
        labelled = s.labels() != 0
        assert h["unlabelled"] == int((~labelled).sum()) and h["found"] == int((s.labels() == POSITIVE).sum())
        expected = [int(i) for i in s.audit.order() if not labelled[i]][: len(batch)]
        assert list(batch.ids) == expected and len(batch) == SessionAudit.PAGE
        for i in batch.ids[:7]:
            s.answer(i, bool(truth[i]))
        c = s.certificate()
        assert c["phase"] == "audit" and c["audit_labels"] == 7 and "recall >=" in c["describe"]
    with Session.open(folder) as s:  # the same design after reopening
        assert s.certificate() == c
        answer_all(s, truth)
        p = s.progress()
        assert p.status == "done" and p.certificate["certified"]
        assert s.settings["stop_reason"] == "recall 0.8 certified at 90 %"
        assert p.certificate["bound"] >= 0.8
        assert (s.labels() == POSITIVE)[truth].mean() >= 0.8  # true recall at the stop
        s.export(tmp_path / "labels.csv")
        doc = json.loads((tmp_path / "labels.certificate.json").read_text())
        assert doc["stop"] == "audit:0.8@0.9" and doc["certificate"]["certified"]
        assert doc["labels"] == int((s.labels() != 0).sum()) and doc["certificate"]["bound"] == p.certificate["bound"]
    with pytest.raises(ParameterError, match="random checks during it"):
        Session.create(tmp_path / "t", path, SearchPlan(stop="audit:0.8@0.9", audit_share=0.1), seeds=[270])


def test_audit_items_are_hidden_from_the_search_and_certify_recall(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan("elsa", params={"a": 10, "b": 10, "l": 10}, epochs=None, stop="qbcb:0.8@0.9", audit_share=1.0),
                        seeds=[270]) as s:
        assert s.settings["audit_positives"] == 11 and s.settings["epochs"] is None  # no limit
        batch = s.next_batch()
        order = s.audit.order()
        rounds, shown = s.shown_rounds()
        audit = [i for i, src in shown if src == "audit"]
        drawn = s.store.query("SELECT COUNT(*) FROM audit")[0][0]
        proposed = {r[0] for r in s.store.query("SELECT item FROM round_items")}
        assert drawn == len(proposed)  # audit share 1.0: as many audit items as the round has
        assert audit == [int(i) for i in order[:drawn] if int(i) not in proposed]
        assert list(batch.ids) == [i for i, _ in shown]  # the search's items first, then the audit's
        for i in batch.ids:
            s.answer(i, bool(truth[i]))
        hidden = [i for i in audit if i not in s.store.query("SELECT item FROM round_items")]
        visible = s.labels(search_view=True)
        assert all(visible[i] == 0 for i in hidden) and all(s.labels()[i] != 0 for i in hidden)
        cert = s.certificate()
        assert cert["n"] == 11 and cert["j"] == 11 and cert["in_sample"] == int(truth[audit].sum())
        s.next_batch()  # the next round retrains the head: Quant's estimate comes with it
        est = s.estimate()
        assert set(est) == {"audit", "quant"} and 0 < est["audit"]["recall"] <= 1
        answer_all(s, truth)
        p = s.progress()
        assert s.settings["stop_reason"] == "recall 0.8 certified at 90 %" and p.status == "done"
        assert p.certificate["certified"] and p.certificate["found"] >= 11
        known = set(np.flatnonzero(s.labels(search_view=True) == POSITIVE))
        assert len(known & set(np.flatnonzero(truth))) / truth.sum() >= 0.8  # true recall at the stop
        assert p.audit > 0 and p.estimate["method"] == "audit"


def test_sessions_in_the_first_format_are_updated_on_opening(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, seeds=[270]) as s:
        s.answer(s.next_batch().ids[0], "n")
        s.store.query("DROP TABLE audit")
        s.store.query("DROP TABLE checks")
        s.store.query("ALTER TABLE rounds DROP COLUMN rng")
        s.store.query("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with Session.open(tmp_path / "s") as s:
        assert s.store.meta()["schema"] == 5 and (s.labels() == NEGATIVE).sum() == 1
        assert s.progress().audit == 0 and s.certificate() is None
        # The first round saved no generator state; the session continues from a stream of its own.
        assert s.store.rounds.last_round()["rng"] is None
        answer_all(s, truth, limit=25)
        assert s.progress().labels == 26 and s.store.rounds.last_round()["rng"] is not None


def test_sessions_written_before_the_search_plan_still_open(pool, tmp_path):
    # Their settings were flat: parameters by their plain names, "no epoch limit" as 10**9,
    # no second looks.
    path, X, truth = pool
    plan = SearchPlan("elsa", params={"a": 10, "b": 10, "l": 10}, stop="knee", budget=40)
    with Session.create(tmp_path / "s", path, plan, seeds=[270]) as s:
        assert s.settings["params"]["nn"] == {"a": 10} and s.settings["epochs"] is None  # grouped, no limit
        s.answer(s.next_batch().ids[0], "n")
        s.store.query("UPDATE meta SET value = ? WHERE key = 'params'", (json.dumps(dict(plan.params)),))
        s.store.query("UPDATE meta SET value = '1000000000' WHERE key = 'epochs'")
        s.store.query("DELETE FROM meta WHERE key = 'second_looks'")
    with Session.open(tmp_path / "s") as s:
        assert s.plan == plan.replace(audit_share=0.0)  # the session keeps the share it runs with
        assert s.settings["epochs"] is None and s.progress().epochs is None
        answer_all(s, truth)
        assert s.finished() and s.progress().labels <= 40


def test_a_start_that_fails_leaves_nothing_behind(pool, tmp_path, monkeypatch):
    path, X, truth = pool
    broken = RuntimeError("the search could not be built")

    def fail(*args, **kwargs):
        raise broken

    monkeypatch.setattr(Session, "__init__", fail)  # after the session file was written
    with pytest.raises(RuntimeError):
        Session.create(tmp_path / "new" / "proj", path, seeds=[270])
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()
    with pytest.raises(RuntimeError):
        Session.create(tmp_path / "mine", path, seeds=[270])
    assert list((tmp_path / "mine").iterdir()) == []  # a folder the user made stays, empty
    monkeypatch.undo()
    with Session.create(tmp_path / "mine", path, seeds=[270]) as s:  # and the same start works next time
        assert s.positive_items().tolist() == [270]


def test_recall_stop_samples_the_rest_then_races_the_search(pool, tmp_path):
    """recall:R@C in a session: the search hands over, pages of random checks of the items
    it left follow (the audit order's prefix), a positive in the sample that the search has
    not found sends the search on (the race), and the session ends certified; a reopened
    session shows the same certificate."""
    path, X, truth = pool
    folder = tmp_path / "s"
    with Session.create(folder, path, SearchPlan(stop="recall:0.8@0.9"), seeds=[270]) as s:
        c = s.certificate()
        assert c["method"] == "sample-wait" and c["phase"] == "search" and c["labels_to_certificate"] > 0
        batch = s.next_batch()
        while s.settings.get("hand_over") is None:
            for i in batch.ids:
                s.answer(i, bool(truth[i]))
            batch = s.next_batch()
        assert s.estimate()["model"]["method"] == "model"
        h = s.settings["hand_over"]
        first = s.audit.sample.cert().first
        assert first == SampleCertificate(h["unlabelled"], h["found"], 0.8, 0.9).first > 0
        labelled = s.labels() != 0
        order = [int(i) for i in s.audit.order() if not labelled[i]]
        shown = []
        while len(batch) and len(shown) < first:
            assert list(batch.ids) == order[len(shown) : len(shown) + len(batch)]
            for i in batch.ids:  # one wrong "yes" in the sample: the search must then find that item itself
                s.answer(i, True if i == order[0] else bool(truth[i]))
            shown += list(batch.ids)
            batch = s.next_batch()
        c = s.certificate()
        assert c["phase"] == "race" and c["unfound_by_search"] >= 1 and not c["certified"]
        assert "the search has not found" in c["describe"] and s.audit.waiting(s.driver.state())
        assert len(batch) and all(src != "audit" for _, src in s.shown_rounds()[1][-len(batch):])
    with Session.open(folder) as s:
        assert s.certificate() == c
        answer_all(s, truth)
        p = s.progress()
        assert p.status == "done" and s.settings["stop_reason"] == "recall 0.8 certified at 90 %"
        assert p.certificate["certified"]
        s.export(tmp_path / "labels.csv")
        doc = json.loads((tmp_path / "labels.certificate.json").read_text())
        assert doc["method"] == "sample-wait" and doc["certificate"]["certified"]


def test_sessions_before_format_4_keep_qbcb_under_its_new_name(pool, tmp_path):
    path, X, truth = pool
    with Session.create(tmp_path / "s", path, SearchPlan(stop="qbcb:0.8@0.9"), seeds=[270]) as s:
        s.store.query("""UPDATE meta SET value = '"recall:0.8@0.9"' WHERE key = 'stop'""")
        s.store.query("UPDATE meta SET value = '3' WHERE key = 'schema'")
        s.store.query("DROP TABLE checks")
    with Session.open(tmp_path / "s") as s:
        assert s.settings["stop"] == "qbcb:0.8@0.9" and s.store.meta()["schema"] == 5
        assert s.certificate()["n"] == 11
