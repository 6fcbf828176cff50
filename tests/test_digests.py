"""Digests of files and pools, remembered by the file's identity (elsa.digests)."""

import hashlib
import os

import numpy as np
import pytest

from elsa import digests


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ELSA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ELSA_VERIFY_POOL", raising=False)


def counting(monkeypatch, name):
    calls = []
    real = getattr(digests, name)
    monkeypatch.setattr(digests, name, lambda *a: calls.append(1) or real(*a))
    return calls


def test_a_file_digest_is_its_sha256_and_is_read_whole_once(tmp_path, monkeypatch):
    path = tmp_path / "pool.bin"
    path.write_bytes(os.urandom(300_000))
    reads = counting(monkeypatch, "sha256_file")
    first = digests.file_digest(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert digests.file_digest(path) == first and len(reads) == 1  # remembered
    assert digests.file_digest(path, verify=True) == first and len(reads) == 2
    monkeypatch.setenv("ELSA_VERIFY_POOL", "1")
    assert digests.file_digest(path) == first and len(reads) == 3


def test_a_changed_file_is_read_again(tmp_path, monkeypatch):
    path = tmp_path / "pool.bin"
    with open(path, "wb") as fh:  # 50 MB (sparse on disk): 64 sampled blocks of 64 KiB leave gaps
        fh.truncate(50_000_000)
    before = digests.file_digest(path)
    st = path.stat()
    with open(path, "r+b") as fh:  # the first byte (always sampled), with the old mtime put back
        fh.write(b"\x01")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert digests.file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest() != before
    with open(path, "r+b") as fh:  # a byte between the samples, mtime put back: trusted unchanged...
        fh.seek(400_000)  # between the first sampled block and the second (at about 790,000)
        fh.write(b"\x02")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    stale = digests.file_digest(path)
    # ... which the full check sees.
    assert digests.file_digest(path, verify=True) == hashlib.sha256(path.read_bytes()).hexdigest() != stale
    with open(path, "r+b") as fh:  # a new size
        fh.truncate(50_000_001)
    assert digests.file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_mapped_pool_has_the_digest_of_its_values_and_is_read_once(tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((500, 8), dtype=np.float32)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    reads = counting(monkeypatch, "_hash_pool")
    assert digests.pool_digest(X) == digests.pool_digest(mapped)  # in memory: read each time
    assert len(reads) == 2
    assert digests.pool_digest(mapped) == digests.pool_digest(X) and len(reads) == 3  # mapped: remembered
    assert digests.pool_digest(mapped[:100]) != digests.pool_digest(X)  # a slice: its own values, read
    np.save(tmp_path / "X.npy", X * 2)
    assert digests.pool_digest(np.load(tmp_path / "X.npy", mmap_mode="r")) == digests.pool_digest(X * 2)


def test_an_unwritable_cache_only_costs_the_full_read(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("ELSA_CACHE_DIR", str(blocker))
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert digests.file_digest(path) == hashlib.sha256(b"abc").hexdigest()
