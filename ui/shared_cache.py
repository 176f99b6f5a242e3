"""A small LRU, shared by every session, for what each page load or tick would otherwise work out again.

Results kept here must not change once made (the Data step's checks, the Train step's charts): every
session gets the same objects.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class SharedLRU:
    """Up to ``size`` results by key, the least recently used dropped first; safe across Gradio's worker threads.

    >>> cache = SharedLRU(2)
    >>> cache.put("a", 1), cache.put("b", 2), cache.get("a"), cache.put("c", 3)
    (1, 2, 1, 3)
    >>> cache.get("b") is None, cache.get("a"), cache.get("c", still_valid=lambda value: value > 5)
    (True, 1, None)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, still_valid: Callable[[Any], bool] | None = None) -> Any | None:
        """The value kept for ``key``, or None; a value ``still_valid`` rejects is dropped."""
        with self._lock:
            if key not in self._values:
                return None
            value = self._values[key]
            if still_valid is not None and not still_valid(value):
                del self._values[key]
                return None
            self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep ``value`` for ``key``; returns it."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value
