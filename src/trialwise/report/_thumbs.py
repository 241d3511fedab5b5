"""Thumbnails of the inputs behind the worst mistakes, as ``data:`` URIs the page embeds (no file, no URL).

An input is a small array logged with ``tw.log_predictions(..., inputs=array)`` (grey ``(H, W)``,
``(H, W, C)`` or ``(C, H, W)`` with C in 1, 3, 4) or a path to an image file. Anything else — a
missing or unreadable file, a non-image, a file over :data:`MAX_IMAGE_BYTES` — gets no thumbnail.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MAX_IMAGE_BYTES", "THUMB_PX", "thumbnail"]

THUMB_PX = 72
"""Longest side of a thumbnail, in pixels (small images are enlarged without smoothing)."""

MAX_IMAGE_BYTES = 20_000_000
"""An input file larger than this is not opened for a thumbnail."""


def _png(image: Any) -> str:
    from PIL import Image

    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    w, h = img.size
    scale = THUMB_PX / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = img.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _array_image(a: np.ndarray) -> np.ndarray | None:
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[0] in (1, 3, 4) and a.shape[-1] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)  # CHW (PyTorch) -> HWC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or a.dtype.kind not in "biuf":
        return None
    a = a.astype(float)
    finite = np.isfinite(a)
    if not finite.any():
        return None
    lo, hi = float(a[finite].min()), float(a[finite].max())
    scaled = np.where(finite, (a - lo) / (hi - lo) if hi > lo else 0.0, 0.0)
    return (scaled * 255).round().astype(np.uint8)


def thumbnail(value: Any, base: Path | None = None) -> str | None:
    """A ``data:image/png`` URI for an input array or image path (a relative one under ``base``, the
    repository, when it is not found as given), or ``None``."""
    try:
        if isinstance(value, (str, Path)):
            path = Path(value)
            if not path.is_file() and base is not None and not path.is_absolute():
                path = base / path
            if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
                return None
            from PIL import Image

            with Image.open(path) as img:
                img.load()
                return _png(img.copy())
        arr = _array_image(np.asarray(value))
        return None if arr is None else _png(arr)
    except (OSError, ValueError, TypeError):  # not an image (PIL raises OSError/UnidentifiedImageError)
        return None
