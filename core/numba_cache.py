"""Where numba keeps its compiled-function cache, on hosts where the usual places are read-only.

numba caches each ``cache=True`` function beside its source (``__pycache__``), or — where the source
tree is read-only (a shared install, a read-only checkout) — in ``~/.cache/numba``; where both are
read-only (a read-only HOME in a container or batch job) it refuses to compile at all, and every command
would die at import. :func:`ensure_numba_cache` points ``NUMBA_CACHE_DIR`` at a private folder under the
temp directory then, before numba is imported. Compiled code is the same wherever it is cached.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def _writable(folder: Path) -> bool:
    """``folder`` exists and can be written, or could be created in its nearest existing parent."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def ensure_numba_cache(source_dir: str | os.PathLike) -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to a writable fallback when neither ``source_dir``'s ``__pycache__`` nor
    ``~/.cache/numba`` can be written and the user has not chosen a folder; returns the folder it set
    (None when nothing needed changing)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return None
    if _writable(Path(source_dir) / "__pycache__") or _writable(Path(os.path.expanduser("~")) / ".cache" / "numba"):
        return None
    fallback = Path(tempfile.gettempdir()) / f"benchmark-numba-cache-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    os.environ["NUMBA_CACHE_DIR"] = str(fallback)
    if "numba" in sys.modules:  # imported already: numba reads its settings at import, so re-read them
        from numba.core import config

        config.reload_config()
    return str(fallback)
