"""A small name -> object registry, the extension point for channels, datasets, systems and plots."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Registry(Generic[T]):
    """Maps names to objects (classes or functions).

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("channel", "dataset", ...).
    entry_point_group : str, optional
        An ``importlib.metadata`` entry-point group searched on the first lookup, so another installed
        package can register objects without touching this one.
    base : type, optional
        The class every plug-in must subclass; one that does not is not loaded, with a warning naming it.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None, base: type | None = None):
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.base = base
        self._items: dict[str, T] = {}
        self._plugins_loaded = entry_point_group is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering an object under ``name``; a duplicate name is an error."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered ({self._items[name]!r})")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """The object registered as ``name``; a miss raises KeyError listing the known names."""
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name in self._items:  # a plug-in never replaces a built-in: say so, naming both
                log.warning(
                    "%s plug-in %r (%s) is not loaded: the name is taken by the built-in %r; register it "
                    "under another name",
                    self.kind,
                    ep.name,
                    ep.value,
                    self._items[ep.name],
                )
                continue
            try:
                obj = ep.load()
                if self.base is not None and not (isinstance(obj, type) and issubclass(obj, self.base)):
                    raise TypeError(f"{obj!r} is not a subclass of {self.base.__module__}.{self.base.__qualname__}")
                self.add(ep.name, obj)
            except Exception as exc:  # a broken plugin must not take the whole tool down
                log.warning("could not load %s plugin %r from %s: %s", self.kind, ep.name, ep.value, exc)
