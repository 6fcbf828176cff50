import numpy as np
import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Embedding caches go to a temporary folder, never the user's ~/.cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("ELSA_CACHE_DIR", str(tmp_path_factory.mktemp("elsa-cache")))
    mp.setenv("MPLBACKEND", "Agg")
    yield
    mp.undo()


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of two worker CPUs, started once for the tests that need one."""
    ray = pytest.importorskip("ray")  # in the test extra; skipped only where it was left out by hand
    from elsa.index.ray_backend import connect

    connect(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture
def blobs():
    """Two well-separated Gaussian blobs in 8-d: 200 negatives around 0, 20 positives around 6."""
    rng = np.random.default_rng(42)
    neg = rng.normal(0.0, 1.0, size=(200, 8))
    pos = rng.normal(6.0, 1.0, size=(20, 8))
    X = np.vstack([neg, pos]).astype(np.float32)
    truth = np.r_[np.zeros(200, bool), np.ones(20, bool)]
    return X, truth


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits as float32 rows and their classes."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y
