from __future__ import annotations

import threading

from .models import Item, ItemIn


class Store:
    """In-memory items; a real service would use a database."""

    def __init__(self) -> None:
        self._items: dict[int, Item] = {}
        self._lock = threading.Lock()

    def add(self, item: ItemIn) -> Item:
        with self._lock:
            created = Item(id=len(self._items) + 1, **item.model_dump())
            self._items[created.id] = created
            return created

    def all(self) -> list[Item]:
        with self._lock:
            return list(self._items.values())
