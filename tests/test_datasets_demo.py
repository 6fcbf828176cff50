import numpy as np
import pytest

from elsa.datasets import load_fashion_mnist, read_idx
from elsa.exceptions import InputError


def test_builtin_fashion_mnist_test_split_ships_with_the_package():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path):
    bad = tmp_path / "x.idx"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(InputError, match="not an IDX file"):
        read_idx(bad)


def test_missing_training_split_names_the_debian_package(tmp_path):
    with pytest.raises(InputError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train", directory=tmp_path)


def test_demo_runs_end_to_end_and_writes_a_plot(tmp_path, capsys):
    from elsa.cli import main

    plot = tmp_path / "demo.png"
    assert main(["demo", "--epochs", "3", "--plot", str(plot), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "pool: 9091 images, target class 0 (T-shirt/top) thinned to 91 items (1.0 %), 5 seeds" in out
    assert "ELSA    epoch  3/3" in out and "labels spent (oracle queries)" in out
    table = out[out.index("labels spent"):].splitlines()
    spent = table[0].split()[-3:]
    assert spent[0] == spent[1] == spent[2], "the default and NN get the labels ELSA spent"
    assert out.index("ELSA    epoch") < out.index("  default round") < out.index("  NN      round")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_embed_builtin_writes_vectors_labels_and_manifest(tmp_path):
    import json

    from elsa.cli import main

    assert main(["embed", "builtin:fashion-mnist", "--out", str(tmp_path / "fm.npy"), "--quiet"]) == 0
    X = np.load(tmp_path / "fm.npy")
    y = np.load(tmp_path / "fm.labels.npy")
    manifest = json.loads((tmp_path / "fm.manifest.json").read_text())
    assert X.shape == (10_000, 1280) and y.shape == (10_000,)
    assert manifest["items"][0] == "fashion-mnist/test/0" and manifest["labels"] == "fm.labels.npy"


def test_the_text_demo_searches_pythons_own_docstrings(tmp_path, capsys):
    from elsa.cli import main
    from elsa.datasets.docstrings import stdlib_docstrings

    corpus = stdlib_docstrings()
    n_email = corpus["categories"].count("email")
    plot = tmp_path / "demo-text.png"
    assert main(["demo", "--text", "--plot", str(plot), "--quiet"]) == 0
    out = capsys.readouterr().out
    pool = len(corpus["titles"]) - n_email + round(0.01 * (len(corpus["titles"]) - n_email) / 0.99)
    assert f"pool: {pool} docstrings of Python" in out and "of package 'email' (1.0 %), 5 seeds" in out
    table = out[out.index("labels spent"):].splitlines()
    assert table[0].split()[-3:] == ["500", "500", "500"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["demo", "--text", "--topic", "no-such-package", "--plot", str(plot), "--quiet"]) == 2
    assert "topic 'no-such-package' leaves 0 docstring(s)" in capsys.readouterr().err
