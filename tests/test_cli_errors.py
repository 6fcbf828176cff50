"""The real ``elsa`` in a subprocess on bad input: one line, the right exit status, no traceback, nothing left behind."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from elsa._io import save_npy, write_json
from elsa.session import Session

ROOT = Path(__file__).resolve().parents[1]


def elsa(*args, cwd, env=None, pythonpath=()):
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([*map(str, pythonpath), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "elsa", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def one_line_error(proc, code: int, message: str, *, usage: bool = False) -> None:
    """Exit ``code``; stderr is the one error line (and, for a usage error, the pointer to --help)."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("elsa") and ": error: " in lines[0] and message in lines[0], proc.stderr
    assert lines[1:] == ([f"see `{lines[0].split(': error')[0]} --help`"] if usage else []), proc.stderr


@pytest.fixture
def pool(tmp_path, blobs):
    X, truth = blobs
    np.save(tmp_path / "E.npy", X)
    np.save(tmp_path / "L.npy", truth.astype(np.int64))
    return tmp_path


@contextmanager
def read_only(path: Path):
    """``path`` made unwritable, also for root (who ignores permission bits): ``chattr +i`` then."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
            pytest.skip("running as root on a filesystem without chattr +i: cannot make a file read-only")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)])
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            path.chmod(mode)


def test_a_usage_error_is_one_line_and_a_pointer_to_help(pool):
    one_line_error(elsa("simulate", cwd=pool), 2, "the following arguments are required", usage=True)
    one_line_error(elsa("simulate", "--embeddings", "E.npy", "--labels", "L.npy", "--target", "1", "--budget", "0",
                        cwd=pool), 2, "argument --budget: must be >= 1, got 0", usage=True)
    one_line_error(elsa("label", "p", "--embeddings", "E.npy", "--budget", "0", cwd=pool), 2, "must be >= 1",
                   usage=True)
    one_line_error(elsa("frobnicate", cwd=pool), 2, "invalid choice: 'frobnicate'", usage=True)


def test_train_without_torch_names_the_extra(tmp_path):
    fake = tmp_path / "no-torch" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
    proc = elsa("train", "builtin:fashion-mnist", "--out", "run", cwd=tmp_path, pythonpath=[tmp_path / "no-torch"])
    one_line_error(proc, 1, "pip install 'elsa-search[train]' torch==2.13.0")
    assert not (tmp_path / "run").exists()


def test_help_texts_are_literal_and_name_the_real_extra(tmp_path):
    demo, train = elsa("demo", "--help", cwd=tmp_path), elsa("train", "--help", cwd=tmp_path)
    assert demo.returncode == train.returncode == 0
    assert "%%" not in demo.stdout and "about 1 % of" in demo.stdout
    assert "torch extra" not in train.stdout and "train extra" in " ".join(train.stdout.split())


def test_a_text_file_as_embeddings_is_not_a_npy_array(pool):
    (pool / "notes.txt").write_text("3, 4, 5\n")
    np.save(pool / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    base = ["simulate", "--labels", "L.npy", "--target", "1", "--embeddings"]
    one_line_error(elsa(*base, "notes.txt", cwd=pool), 1, "notes.txt is not a .npy array")
    one_line_error(elsa(*base, "objects.npy", cwd=pool), 1, "holds Python objects, not numbers")
    # Found after the progress bar exists: still the one line, no bar drawn above it.
    one_line_error(elsa("simulate", "--embeddings", "E.npy", "--labels", "L.npy", "--target", "7", cwd=pool), 2,
                   "target class 7 has no members")


def test_demo_rejects_a_fraction_before_embedding_anything(tmp_path):
    env = {"ELSA_CACHE_DIR": str(tmp_path / "cache")}
    one_line_error(elsa("demo", "--fraction", "2", cwd=tmp_path, env=env), 2, "fraction must be <= 0.1, got 2.0")
    one_line_error(elsa("demo", "--fraction", "0", cwd=tmp_path, env=env), 2, "fraction must be > 0")
    one_line_error(elsa("demo", "--fraction", "0.0001", cwd=tmp_path, env=env), 2,
                   "leaves 1 positive(s) in the pool, not more than the 5 seeds")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "elsa-demo.png").exists()


def test_a_missing_session_exits_1_for_resume_and_export_alike(tmp_path):
    for args in (["--resume"], ["--export", "out.csv"], []):
        one_line_error(elsa("label", "nowhere", *args, cwd=tmp_path), 1, "no session in nowhere")
    assert not (tmp_path / "nowhere").exists() and not (tmp_path / "out.csv").exists()


def test_a_port_it_cannot_listen_on_leaves_no_session_behind(pool):
    start = ["label", "proj", "--embeddings", "E.npy", "--seed-ids", "200,201"]
    one_line_error(elsa(*start, "--port", "99999", cwd=pool), 2, "argument --port: a port is 0-65535, got 99999",
                   usage=True)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line_error(elsa(*start, "--port", port, cwd=pool), 1, f"cannot listen on 127.0.0.1:{port}")
    assert not (pool / "proj").exists()


def test_a_read_only_lock_file_or_folder_is_named_and_export_still_works(pool):
    with Session.create(pool / "proj", pool / "E.npy", seeds=[200, 201]) as s:
        s.answer(s.next_batch().ids[0], "n")
    with read_only(pool / "proj" / "elsa-session.lock"):
        one_line_error(elsa("label", "proj", "--resume", cwd=pool), 1,
                       "its lock file proj/elsa-session.lock cannot be written")
    with read_only(pool / "proj"):
        one_line_error(elsa("label", "proj", "--resume", cwd=pool), 1, "the folder or the session file is read-only")
        proc = elsa("label", "proj", "--export", "labels.csv", cwd=pool)
        assert proc.returncode == 0, proc.stderr
    rows = (pool / "labels.csv").read_text().splitlines()
    assert len(rows) == 4 and [r.split(",")[2] for r in rows[1:]] == ["positive", "positive", "negative"]
    assert sorted(p.name for p in (pool / "proj").iterdir()) == ["elsa-session.lock", "elsa-session.sqlite"]
    # A read-only session file in a writable folder: refused when it opens, not at the first answer.
    with read_only(pool / "proj" / "elsa-session.sqlite"):
        one_line_error(elsa("label", "proj", "--resume", cwd=pool), 1, "the folder or the session file is read-only")


def test_outputs_take_the_users_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_json(tmp_path / "m.manifest.json", {"a": 1})
        save_npy(tmp_path / "v.npy", np.zeros(3))
        os.umask(0o002)
        write_json(tmp_path / "shared.json", {})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.manifest.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "v.npy").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "shared.json").stat().st_mode) == 0o664
    assert json.loads((tmp_path / "m.manifest.json").read_text()) == {"a": 1}


def test_records_errors_are_one_line(tmp_path):
    (tmp_path / "r.csv").write_text("name,body\nx,hello there\ny,another one\n")
    (tmp_path / "l.csv").write_text("title,abstract,label_included\na,b,1\nc,d,\n")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    base = ["simulate", "--target", "1", "--quiet"]
    one_line_error(elsa(*base, "--records", "r.csv", cwd=tmp_path), 1, "neither a 'title' nor an 'abstract' column")
    one_line_error(elsa(*base, "--records", "r.csv", "--text-columns", "body", cwd=tmp_path), 2,
                   "give --labels: r.csv has no label_included column")
    one_line_error(elsa(*base, "--records", "l.csv", cwd=tmp_path), 1,
                   "1 record(s) have no label_included value")
    one_line_error(elsa(*base, "--records", "r.csv", "--embeddings", "bad.npz", cwd=tmp_path), 2,
                   "not allowed with argument", usage=True)
    one_line_error(elsa(*base, "--embeddings", "bad.npz", "--labels", "x.npy", cwd=tmp_path), 1,
                   "cannot read embeddings file bad.npz as a sparse matrix")
    one_line_error(elsa("label", "p", "--embeddings", "bad.npz", cwd=tmp_path), 1,
                   "a .npz pool needs the manifest")
    assert not (tmp_path / "p").exists()
