"""Finding and decoding the images of a folder.

Decoding is tolerant: an unreadable, truncated or oversized file is reported with its
reason and skipped, never fatal. Greyscale and palette images become RGB; images with
transparency are composited on white.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..exceptions import EmptyPoolError, InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
# Pillow's own decompression-bomb limit (about 179 megapixels) is kept; above it an
# image is skipped with a clear reason instead of exhausting memory.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def find_images(root) -> list[Path]:
    """Every image file under ``root`` (recursive), sorted by relative path."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"image folder not found: {root}")
    if not root.is_dir():
        raise InputError(f"not a folder: {root}")
    paths = sorted(
        (p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not paths:
        raise EmptyPoolError(
            f"no images found in {root} (looked recursively for {', '.join(IMAGE_EXTENSIONS)})"
        )
    return paths


def open_rgb(path: Path) -> Image.Image:
    """Decode ``path`` to an RGB image; raises ``ValueError`` with a readable reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError(
                        f"image too large ({im.width}x{im.height} pixels; the limit is {MAX_PIXELS} pixels)"
                    )
                im.load()
                if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    canvas.alpha_composite(rgba)
                    return canvas.convert("RGB")
                return im.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"image too large (decompression-bomb guard): {exc}") from exc
    except (OSError, SyntaxError, Image.UnidentifiedImageError) as exc:
        raise ValueError(f"cannot decode image: {exc}") from exc
