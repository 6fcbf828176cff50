"""The demo labelling session: find T-shirts among the built-in Fashion-MNIST images.

The built-in test split (10,000 images) is embedded with the built-in encoder (cached
after the first run), the T-shirt/top class is thinned to about 1 % of the pool as in
``elsa demo``, and the session starts from 5 of its images as seeds, so a newcomer can
try labelling in one command.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import save_npy, write_json
from ..datasets import CLASS_NAMES, load_fashion_mnist
from ..embeddings import embed_array
from ..simulation import draw_seeds, make_rare
from .images import BUILTIN_PREFIX, builtin_names
from .session import Session
from .store import DB_NAME, DEMO_FOLDER

DEMO_TARGET = 0


def open_demo_session(folder=DEMO_FOLDER, *, progress: bool = True, user: str | None = None,
                      log=print) -> Session:
    """Reopen the demo session in ``folder``, or create it there."""
    folder = Path(folder)
    if (folder / DB_NAME).exists():
        log(f"reopening the demo session in {folder}")
        return Session.open(folder, user=user)
    images, labels = load_fashion_mnist("test")
    emb = embed_array(images, progress=progress, desc="embedding built-in Fashion-MNIST")
    rng = np.random.default_rng(0)
    keep = make_rare(labels, DEMO_TARGET, 0.01, rng)
    truth = labels[keep] == DEMO_TARGET
    seeds = draw_seeds(truth, 5, rng)
    folder.mkdir(parents=True, exist_ok=True)
    pool = folder / "pool.npy"
    save_npy(pool, emb.vectors[keep])
    write_json(folder / "pool.manifest.json", {
        "source": f"{BUILTIN_PREFIX} (test split)", "encoder": "efficientnet-lite0 (ImageNet), built in",
        "items": builtin_names(keep), "shape": [int(keep.size), int(emb.vectors.shape[1])],
    })
    name = CLASS_NAMES[DEMO_TARGET]
    log(f"demo session in {folder}: {keep.size} images, '{name}' thinned to {int(truth.sum())} of them, "
        f"5 seeds; answer y for a {name}, n for anything else")
    return Session.create(folder, pool, target=name, seeds=seeds, user=user)
