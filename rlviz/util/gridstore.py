"""Saliency grids of a video kept in a temporary file, so memory stays flat in video length.

A video keeps every explained frame's two 17x17 saliency grids until it is drawn, so that
brightness can be normalised over the whole video. In memory that is 2.5 KB a frame (25 MB
more for a 10,000-frame video than for a 1,000-frame one, measured); on disk it is nothing.
Grids are written once, in order, and read back one frame at a time while rendering. (Where
the temporary directory is RAM-backed, tmpfs, they still take RAM, but outside the process,
and TMPDIR can point elsewhere.)
"""

from __future__ import annotations

import tempfile
import threading

import numpy as np


class GridStore:
    """An append-only array of same-shape float32 grids in an unnamed temporary file."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="rlviz-grids-")  # removed when closed or collected
        self._lock = threading.Lock()
        self._shape: tuple[int, ...] | None = None
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, grids: np.ndarray) -> int:
        """Store one frame's grids (any fixed shape); returns its index."""
        grids = np.ascontiguousarray(grids, dtype=np.float32)
        if self._shape is None:
            self._shape = grids.shape
        elif grids.shape != self._shape:
            raise ValueError(f"grid shape {grids.shape} differs from the store's {self._shape}")
        with self._lock:
            self._file.seek(self._count * grids.nbytes)
            self._file.write(grids.tobytes())
            self._count += 1
            return self._count - 1

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < self._count:
            raise IndexError(f"grid {index} of {self._count}")
        assert self._shape is not None
        nbytes = 4 * int(np.prod(self._shape))
        with self._lock:
            self._file.seek(index * nbytes)
            data = self._file.read(nbytes)
        return np.frombuffer(data, dtype=np.float32).reshape(self._shape)

    def close(self) -> None:
        self._file.close()
