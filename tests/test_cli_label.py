"""``elsa label``: starting, reopening, exporting and serving a session from the command line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from elsa.cli import main
from elsa.session import Session


@pytest.fixture
def emb(tmp_path, blobs):
    X, truth = blobs
    np.save(tmp_path / "E.npy", X)
    (tmp_path / "E.manifest.json").write_text(json.dumps({"items": [f"p{i}.jpg" for i in range(len(X))]}))
    return tmp_path / "E.npy", truth


@pytest.mark.parametrize("args, code, message", [
    (["--embeddings", "E.npy", "--seed-ids", "220"], 2, "seed ids [220] are outside the pool's rows 0..219"),
    (["--embeddings", "E.npy", "--seed-items", "nope.jpg"], 2, "seeds 'nope.jpg' name no item of the pool"),
    (["--embeddings", "E.npy", "--resume"], 2, "not both"),
    (["--seed-ids", "3"], 2, "are set when a session starts"),
    ([], 1, "no session in"),
    (["--embeddings", "E.npy", "--token", "short"], 2, "--token must be at least 16 characters"),
    (["--embeddings", "missing.npy"], 1, "embeddings file not found"),
    (["--embeddings", "E.npy", "--labels-from", "nope.csv"], 1, "label file"),
])
def test_label_errors_are_one_line(emb, tmp_path, capsys, args, code, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["label", "proj", *args]) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_export_works_while_the_session_is_open(emb, tmp_path, capsys):
    path, truth = emb
    with Session.create(tmp_path / "proj", path, seeds=[200, 201]) as s:
        s.answer(s.next_batch().ids[0], "n")
        assert main(["label", str(tmp_path / "proj"), "--export", str(tmp_path / "pos.txt")]) == 0
    assert (tmp_path / "pos.txt").read_text().split() == ["p200.jpg", "p201.jpg"]
    assert main(["label", str(tmp_path / "proj"), "--export", str(tmp_path / "l.xml")]) == 2
    assert "cannot tell the export format" in capsys.readouterr().err


def test_label_serves_until_ctrl_c_and_resumes(emb, tmp_path):
    import httpx

    path, truth = emb
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "elsa", "label", str(tmp_path / "proj"), "--port", "0", "--quiet"]
    proc = subprocess.Popen(cmd + ["--embeddings", str(path), "--seed-ids", "200,201", "--target", "blob six"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url, before = None, []
    for line in proc.stdout:
        if "open http://" in line:
            url = line.split("open ", 1)[1].strip()
            break
        before.append(line)
    assert url is not None and url.startswith("http://127.0.0.1:")
    # No round exists yet: the start-up line must not claim "0 item(s) waiting" while the page fills.
    assert before == ["0 positive(s) found with 0 label(s) so far; the next batch is being computed and appears "
                      "on the page when ready\n"]
    for _ in range(100):
        state = httpx.get(url + "api/state").json()
        if state["progress"]["pending"]:
            break
        time.sleep(0.1)
    item = state["batch"][0]["id"]
    r = httpx.post(url + "api/answer", json={"item": item, "label": "y"}, headers={"X-Elsa-Client": "t"})
    assert r.status_code == 200
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "session saved: 1 positive(s) found with 1 label(s)" in out
    with Session.open(tmp_path / "proj") as s:
        assert s.item_labels([item])[item]["label"] == "positive"
        assert s.settings["target"] == "blob six"


def test_a_moved_image_folder_is_named_and_can_be_pointed_to(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from elsa.cli_label import _label_session
    from elsa.cli_parser import build_parser

    folder = tmp_path / "icons"
    folder.mkdir()
    names = [f"{i}.png" for i in range(30)]
    for i, name in enumerate(names):
        Image.new("RGB", (8, 8), (i * 8, 0, 0)).save(folder / name)
    np.save(tmp_path / "E.npy", np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32))
    (tmp_path / "E.manifest.json").write_text(json.dumps({"source": str(folder), "items": names}))
    Session.create(tmp_path / "proj", tmp_path / "E.npy", seeds=[1]).close()
    folder.rename(tmp_path / "icons-2026")
    # Reopening names the missing folder and the option that fixes it.
    assert main(["label", str(tmp_path / "proj"), "--resume", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert f"image folder {folder} is missing" in err and "--images NEW_FOLDER" in err
    # A folder without the session's images is refused; the right one is kept for later.
    (tmp_path / "other").mkdir()
    assert main(["label", str(tmp_path / "proj"), "--resume", "--images", str(tmp_path / "other"), "--port", "0"]) == 1
    assert "does not hold this session's images" in capsys.readouterr().err
    args = build_parser().parse_args(["label", str(tmp_path / "proj"), "--resume", "--images",
                                      str(tmp_path / "icons-2026")])
    with _label_session(args) as s:
        assert s.images.encoded(3)[0]
    with Session.open(tmp_path / "proj") as s:
        assert s.settings["images"]["root"] == str((tmp_path / "icons-2026").resolve())
