"""The pictures a person labels: item id -> image, for the registered items only.

A session's items come from the embedding manifest. Their images live either in a
folder (the manifest's ``source``; item names are paths relative to it) or in the
built-in Fashion-MNIST array (names ``fashion-mnist/test/<row>``). Lookups go by item
id through the session's item table: nothing a client sends is ever joined to a
filesystem path, and a name that would resolve outside the root is refused anyway.
"""

from __future__ import annotations

import io
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from ..embeddings.images import open_rgb
from ..exceptions import InputError

BUILTIN_PREFIX = "builtin:fashion-mnist"
_BUILTIN_NAME = re.compile(r"^fashion-mnist/test/(\d+)$")


def image_source(manifest: dict | None) -> dict:
    """Where a manifest's images are: ``{"kind": "folder", "root": ...}``, ``{"kind": "builtin"}`` or ``{"kind": "none"}``."""
    source = (manifest or {}).get("source")
    if not source:
        return {"kind": "none"}
    if str(source).startswith(BUILTIN_PREFIX):
        return {"kind": "builtin"}
    return {"kind": "folder", "root": str(Path(source).resolve())}


class ItemImages:
    """Encoded thumbnails and full views of items, with a small in-memory cache.

    Parameters
    ----------
    source : the dict from :func:`image_source`.
    names : item names by id.
    """

    THUMB = 160
    FULL = 1024

    def __init__(self, source: dict, names: list[str], *, cache_items: int = 2048):
        self.kind = source.get("kind", "none")
        self.names = names
        self._root = Path(source["root"]) if self.kind == "folder" else None
        self._array = None
        self._cache: OrderedDict = OrderedDict()
        self._cache_items = cache_items
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.kind != "none"

    def _open(self, item: int, limit: int | None = None) -> Image.Image:
        name = self.names[item]
        if self.kind == "builtin":
            m = _BUILTIN_NAME.match(name)
            if m is None:
                raise InputError(f"item {item} ({name!r}) is not a built-in Fashion-MNIST image")
            if self._array is None:
                from ..datasets import load_fashion_mnist

                self._array = load_fashion_mnist("test")[0]
            return Image.fromarray(self._array[int(m.group(1))]).convert("RGB")
        if self.kind == "folder":
            path = (self._root / name).resolve()
            if not path.is_relative_to(self._root):
                raise InputError(f"item {item} ({name!r}) lies outside the image folder {self._root}")
            if not path.is_file():
                raise InputError(f"the image of item {item} is missing: {path}")
            return open_rgb(path, limit)  # a photograph is decoded at a reduced scale for a thumbnail
        raise InputError("this session's pool has no images (embeddings were given without a manifest)")

    def encoded(self, item: int, size: str = "thumb") -> tuple[bytes, str]:
        """``(bytes, media type)`` of item ``item`` at ``size`` (``thumb`` or ``full``)."""
        key = (item, size)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        limit = self.THUMB if size == "thumb" else self.FULL
        img = self._open(item, limit)
        small = max(img.size) < limit // 2
        if small:  # tiny images (28 px) are blown up with hard edges rather than blurred
            scale = max(1, limit // max(img.size))
            img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
        else:
            img.thumbnail((limit, limit))
        buf = io.BytesIO()
        if small:
            img.save(buf, "PNG")
            out = (buf.getvalue(), "image/png")
        else:
            img.save(buf, "JPEG", quality=85)
            out = (buf.getvalue(), "image/jpeg")
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > self._cache_items:
                self._cache.popitem(last=False)
        return out


def builtin_names(rows: np.ndarray) -> list[str]:
    """Item names of built-in Fashion-MNIST test rows, as ``elsa embed builtin:fashion-mnist`` writes them."""
    return [f"fashion-mnist/test/{int(i)}" for i in rows]


def missing_folder(session) -> str | None:
    """The session's image folder when it no longer exists (moved or renamed), else None."""
    source = session.settings.get("images") or {}
    if source.get("kind") == "folder" and not Path(source["root"]).is_dir():
        return source["root"]
    return None


def relocate_images(session, new_root, *, sample: int = 50) -> Path:
    """Point a session at its image folder's new place, after checking that the folder holds
    its images (up to ``sample`` item paths, spread over the list, must be files there).
    The item names (paths relative to the folder) stay as they are."""
    root = Path(new_root).resolve()
    if not root.is_dir():
        raise InputError(f"--images {new_root}: no such folder")
    names = session.names
    picks = sorted({round(i * (len(names) - 1) / max(sample - 1, 1)) for i in range(min(sample, len(names)))})
    absent = [names[i] for i in picks if not (root / names[i]).resolve().is_file()]
    if absent:
        raise InputError(f"--images {root} does not hold this session's images: {len(absent)} of {len(picks)} "
                         f"checked are not there ({', '.join(absent[:3])})")
    source = {"kind": "folder", "root": str(root)}
    with session.store.transaction("move the image folder") as db:
        session.store.set_meta(db, {"images": source})
    session.settings["images"] = source
    session.images = ItemImages(source, names)
    return root
