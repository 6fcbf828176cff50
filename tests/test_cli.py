"""The command-line contract of ``elsa simulate`` and its errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from elsa.plan import SearchPlan
from elsa.cli import main


@pytest.fixture
def files(tmp_path, blobs):
    X, truth = blobs
    labels = np.where(truth, 3, 0)
    labels[:50] = 1
    np.save(tmp_path / "E.npy", X)
    np.save(tmp_path / "L.npy", labels)
    return tmp_path


def simulate(files, *extra):
    return main(["simulate", "--embeddings", str(files / "E.npy"), "--labels", str(files / "L.npy"),
                 "--quiet", *extra])


def test_simulate_writes_the_documented_json(files, capsys):
    out = files / "results.json"
    code = simulate(files, "--target", "3", "--seeds", "2", "--epochs", "3", "--repeats", "2", "--strategy", "elsa",
                    "--random-state", "4", "--output", str(out), "--a", "10")
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc) == {"strategy", "plan", "params", "runs", "summary"}
    assert doc["strategy"] == "elsa" and doc["params"]["a"] == 10 and doc["params"]["epochs"] == 3
    assert doc["plan"]["params"]["nn"] == {"a": 10} and doc["plan"]["random_state"] == 4  # the plan, by component
    assert SearchPlan.from_dict(doc["plan"]) == SearchPlan("elsa", params={"a": 10}, epochs=3, random_state=4)
    assert len(doc["runs"]) == 2
    for run in doc["runs"]:
        assert {"seed_ids", "n_seeds", "queries", "found", "total_positives", "discovery_rate",
                "labelling_efficiency", "curve", "seconds"} <= set(run)
        assert run["n_seeds"] == 2 and run["total_positives"] == 20
        assert run["curve"][0] == [0, 0] and run["curve"][-1] == [run["queries"], run["found"]]
        assert run["discovery_rate"] == pytest.approx((run["found"] + 2) / 20)
        assert run["labelling_efficiency"] == pytest.approx(run["found"] / run["queries"])
    assert doc["summary"]["found"]["median"] == np.median([r["found"] for r in doc["runs"]])
    assert "strategy elsa: class 3, 20 positives" in capsys.readouterr().out


def test_simulate_is_reproducible_and_seed_ids_are_used(files):
    a, b = files / "a.json", files / "b.json"
    for path in (a, b):
        simulate(files, "--target", "3", "--seed-ids", "200,207", "--strategy", "nn", "--output", str(path))
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert da["runs"][0]["seed_ids"] == [200, 207]
    assert da["runs"][0]["curve"] == db["runs"][0]["curve"]


def test_the_default_strategy_runs_until_its_budget_and_says_so_without_one(files, capsys):
    out = files / "d.json"
    assert simulate(files, "--target", "3", "--seeds", "1", "--budget", "45", "--output", str(out)) == 0
    doc = json.loads(out.read_text())
    assert doc["strategy"] == "portfolio" and doc["params"]["batch_size"] == 10 and doc["params"]["epochs"] is None
    run = doc["runs"][0]
    assert run["queries"] == 45 and [q for q, _ in run["curve"]] == [0, 10, 20, 30, 40, 45]  # pages of 10
    assert run["found"] == 19, "every other positive of the blob"
    capsys.readouterr()
    assert simulate(files, "--target", "3") == 2
    err = capsys.readouterr().err
    assert "strategy portfolio runs until its label budget: give a budget (--budget N)" in err and err.count("\n") == 1


def test_budget_and_noise_are_reported(files):
    out = files / "r.json"
    simulate(files, "--target", "3", "--budget", "40", "--noise", "0.2", "--output", str(out))
    run = json.loads(out.read_text())["runs"][0]
    assert run["queries"] <= 40
    assert {"found_reported", "false_positives", "false_negatives"} <= set(run)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--target", "9"], 2, "target class 9 has no members"),
        (["--target", "3", "--seeds", "21"], 2, "asked for 21 seeds but class 3 has only 20"),
        (["--target", "3", "--seed-ids", "0"], 2, "seed ids [0] are not members of class 3"),
        (["--target", "3", "--seed-ids", "5000"], 2, "--seed-ids: rows [5000] are outside the pool's rows 0..219"),
        (["--target", "3", "--seeds", "2", "--seed-ids", "200"], 2, "give one of --seeds, --seed-ids and --seed-rows, not --seeds and --seed-ids"),
        (["--target", "3", "--output", "/nonexistent-dir/r.json"], 2, "folder /nonexistent-dir does not exist"),
        (["--target", "3", "--strategy", "nn", "--alpha1", "2"], 2, "strategy 'nn' does not take alpha1"),
    ],
)
def test_bad_values_get_one_clear_message(files, capsys, args, code, message):
    assert simulate(files, "--budget", "60", *args) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_budget_below_zero_is_a_usage_error(files, capsys):
    with pytest.raises(SystemExit) as exc:
        simulate(files, "--target", "3", "--budget", "-5")
    assert exc.value.code == 2
    assert "--budget: must be >= 0, got -5" in capsys.readouterr().err


def test_the_defaults_rankings_are_chosen_on_the_command_line(files, capsys):
    out = files / "r.json"
    assert simulate(files, "--target", "3", "--budget", "30", "--rankings", "knn, head:1.0", "--output", str(out)) == 0
    doc = json.loads(out.read_text())
    assert doc["params"]["rankings"] == "knn, head:1.0"  # as given: the portfolio reads it, not the command line
    assert set(doc["runs"][0]["sources"]) <= {"portfolio/knn", "portfolio/head:1"}
    for bad, message in [("knn,svm:1", "'svm:1' is not a ranking"), ("knn,knn", "each once")]:
        assert simulate(files, "--target", "3", "--budget", "30", "--rankings", bad) == 2  # before any file is read
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda X, y: (X[:, :, None], y), "must be a 2-d array"),
        (lambda X, y: (X, y[:-1]), "--labels has 219 entries but --embeddings has 220 rows"),
        (lambda X, y: (np.where(np.arange(220)[:, None] == 7, np.nan, X), y), "1 row(s) with NaN or inf values (rows 7)"),
        (lambda X, y: (X, y + 0.5), "must be integer class ids"),
        (lambda X, y: (X[:0], y[:0]), "has no rows"),
    ],
)
def test_bad_data_gets_one_clear_message(tmp_path, blobs, capsys, make, message):
    X, truth = blobs
    X, y = make(X, np.where(truth, 3, 0))
    np.save(tmp_path / "E.npy", X)
    np.save(tmp_path / "L.npy", y)
    assert simulate(tmp_path, "--target", "3", "--budget", "50") == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_missing_and_unreadable_files(tmp_path, capsys):
    (tmp_path / "E.npy").write_text("not numpy")
    assert main(["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "nope.npy"),
                 "--target", "1"]) == 1
    assert "E.npy is not a .npy array (no numpy header)" in capsys.readouterr().err
    np.save(tmp_path / "E.npy", np.zeros((3, 2)))
    assert main(["simulate", "--embeddings", str(tmp_path / "E.npy"), "--labels", str(tmp_path / "nope.npy"),
                 "--target", "1"]) == 1
    assert "labels file not found" in capsys.readouterr().err


def test_console_entry_point_runs_in_a_subprocess(files):
    proc = subprocess.run(
        [sys.executable, "-m", "elsa", "simulate", "--embeddings", str(files / "E.npy"), "--labels",
         str(files / "L.npy"), "--target", "42", "--budget", "30", "--quiet"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("elsa simulate: error: target class 42 has no members")


def test_embed_reports_skipped_files_and_writes_the_manifest(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "imgs" / "sub" / "ok.png")
    (tmp_path / "imgs" / "bad.jpg").write_bytes(b"garbage")
    assert main(["embed", str(tmp_path / "imgs"), "--out", str(tmp_path / "e.npy"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "embedded 1 image(s)" in captured.out
    assert "skipped 1 unreadable file(s)" in captured.err and "bad.jpg: cannot decode image" in captured.err
    manifest = json.loads((tmp_path / "e.manifest.json").read_text())
    assert manifest["items"] == ["sub/ok.png"] and manifest["skipped"][0]["path"] == "bad.jpg"
    assert np.load(tmp_path / "e.npy").shape == (1, 1280)


def test_embed_counts_duplicates_apart_from_the_cache(tmp_path, capsys, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path / "cache"))  # empty
    (tmp_path / "imgs").mkdir()
    for name, colour in (("a.png", (1, 2, 3)), ("b.png", (1, 2, 3)), ("c.png", (200, 0, 0))):
        Image.new("RGB", (8, 8), colour).save(tmp_path / "imgs" / name)
    assert main(["embed", str(tmp_path / "imgs"), "--out", str(tmp_path / "e.npy"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(1 duplicate of other images)" in out and "cache" not in out
    assert main(["embed", str(tmp_path / "imgs"), "--out", str(tmp_path / "e.npy"), "--quiet"]) == 0
    assert "(2 from the cache; 1 duplicate of other images)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "path, out, code, message",
    [
        ("empty", "e.npy", 1, "no images found in"),
        ("missing", "e.npy", 1, "image folder not found"),
        ("builtin:imagenet", "e.npy", 2, "unknown built-in dataset 'imagenet'"),
        ("empty", "no/such/dir/e.npy", 2, "does not exist"),
        ("empty", "e.txt", 2, "--out must name a .npy file"),
        ("empty --mean 0.1,0.2", "e.npy", 2, "mean needs 1 or 3 finite numbers"),
        ("empty --encoder nope.onnx", "e.npy", 1, "encoder not found: nope.onnx"),
        ("empty --space projector", "e.npy", 2, "needs a checkpoint from `elsa train`"),
    ],
)
def test_embed_errors(tmp_path, capsys, path, out, code, message):
    (tmp_path / "empty").mkdir()
    path, *extra = path.split()
    arg = path if path.startswith("builtin:") else str(tmp_path / path)
    assert main(["embed", arg, "--out", str(tmp_path / out), "--quiet", *extra]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "e.npy").exists()


def test_train_then_embed_in_both_spaces(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp_path / "imgs").mkdir()
    for i in range(20):
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(tmp_path / "imgs" / f"{i:02d}.png")
    run = str(tmp_path / "run")
    tiny = ["--epochs", "1", "--batch-size", "8", "--image-size", "16", "--width", "4", "--projector-dim", "16", "--quiet"]
    assert main(["train", str(tmp_path / "imgs"), "--out", run, *tiny]) == 0
    assert "trained vicreg for 2 steps" in capsys.readouterr().out
    assert main(["train", str(tmp_path / "imgs"), "--out", run, *tiny]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "imgs"), "--out", run, "--resume", *tiny]) == 0
    for space, dim in (("embedding", 32), ("projector", 16)):
        out = tmp_path / f"{space}.npy"
        assert main(["embed", str(tmp_path / "imgs"), "--encoder", run, "--space", space, "--out", str(out),
                     "--quiet"]) == 0
        assert np.load(out).shape == (20, dim)
        manifest = json.loads((tmp_path / f"{space}.manifest.json").read_text())
        assert manifest["space"] == space and manifest["image_size"] == 16 and len(manifest["items"]) == 20
