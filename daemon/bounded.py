"""A table of what strangers tell the daemon (users it does not know, calls it has not
seen): it keeps the most recently seen keys only, so forged events can fill it but never
grow it."""

from __future__ import annotations

from collections import OrderedDict


class Recent:
    """At most `size` keys; putting one more drops the one least recently put."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def put(self, key, value) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def get(self, key, default=None):
        return self._items.get(key, default)

    def pop(self, key, default=None):
        return self._items.pop(key, default)

    def keys(self) -> list:
        return list(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
