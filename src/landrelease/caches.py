"""In-process caches that live as long as a registry's store: one of each per open registry.

The public view keeps generalised outlines, the tiles keep encoded tiles; a server opens its
registry once, and a test may open many: each store gets its own cache, dropped with it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

from landrelease.store import Store

T = TypeVar("T")


class PerStore(Generic[T]):
    """One `T` per store, made by `make` on first use (thread-safe), dropped with the store."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._kept: weakref.WeakKeyDictionary[Store, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, store: Store) -> T:
        """Return the `T` of `store` (made now if it has none yet)."""
        with self._lock:
            kept = self._kept.get(store)
            if kept is None:
                kept = self._kept[store] = self._make()
            return kept
