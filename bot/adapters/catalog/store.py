"""The catalog in force: loaded once, shared, replaced only by a valid file.

A catalog guards operations (allow-lists, namespaces, replica limits), so it must fail
closed: a file broken while warroom runs never replaces the last good catalog, and no path
ever sees an empty or partial one. The error is logged with file and line, and `/healthz`
reports the catalog as stale until the file is fixed.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.catalog.load import load_catalog
from bot.adapters.catalog.model import Catalog, CatalogError
from bot.logging_setup import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class CatalogStatus:
    path: str | None
    stale: bool  # the file changed into something invalid; the last good catalog stays
    error: str | None


class CatalogStore:
    """One per process. `current` is an immutable Catalog (or None without CATALOG_FILE)."""

    def __init__(self, path: str | Path | None, catalog: Catalog | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._catalog = catalog
        self._error: str | None = None
        self._stamped: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path | None) -> CatalogStore:
        """At start-up: CatalogError stops the process (file:line: reason)."""
        store = cls(path)
        if store.path is not None:
            store._stamped = store._stamp()
            store._catalog = load_catalog(store.path)
        return store

    @classmethod
    def of(cls, catalog: Catalog | None) -> CatalogStore:
        """A fixed catalog (the sandbox and tests build theirs in code)."""
        return cls(None, catalog)

    @property
    def current(self) -> Catalog | None:
        return self._catalog

    @property
    def status(self) -> CatalogStatus:
        path = str(self.path) if self.path else None
        return CatalogStatus(path, self._error is not None, self._error)

    def _stamp(self) -> tuple[int, int, int] | None:
        """What tells a changed file apart without reading it. The inode catches an editor's
        or a ConfigMap's atomic replace even within one mtime tick; stat() follows symlinks,
        so a ConfigMap's `..data` swap is seen."""
        try:
            st = os.stat(self.path) if self.path else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino) if st else None

    def reload(self) -> bool:
        """Read the file again (SIGHUP, or it changed): True when a new catalog took effect."""
        if self.path is None:
            return False
        with self._lock:
            self._stamped = self._stamp()
            try:
                fresh = load_catalog(self.path)
            except CatalogError as exc:
                if self._error != str(exc):  # once per distinct problem, not every poll
                    log.error(
                        "catalog reload refused; the last good catalog stays",
                        path=str(self.path),
                        line=exc.line,
                        error=str(exc),
                    )
                self._error = str(exc)
                return False
            changed = fresh != self._catalog
            self._catalog = fresh
            if self._error is not None or changed:
                log.info("catalog reloaded", path=str(self.path), services=len(fresh.services))
            self._error = None
            return changed

    def reload_if_changed(self) -> bool:
        """Cheap enough to call every few seconds: one stat() unless the file changed."""
        if self.path is None or self._stamp() == self._stamped:
            return False
        return self.reload()
