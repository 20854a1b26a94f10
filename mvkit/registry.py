"""One way to register things by name (losses, heads, objectives, text encoders).

Every registry in mvkit is a plain ``dict`` filled by a decorator made here, so a user's
file adds a loss, a head or an objective with one line and without editing the package;
registering a taken name with something else is an error (a user's entry never silently
replaces a built-in one).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def add(table: dict[str, Any], key: str, value: Any, what: str) -> None:
    """``table[key] = value`` unless ``key`` already holds something else (then ``ValueError``)."""
    if key in table and table[key] != value:
        raise ValueError(f"{what} {key!r} is already registered ({table[key]!r}); pick another name")
    table[key] = value


def registrar(table: dict[str, Any], what: str, *keys: str,
              wrap: Callable[[Any], Any] = lambda x: x) -> Callable[[T], T]:
    """A decorator that registers its target under every key (``wrap`` builds the stored value)."""
    def deco(obj: T) -> T:
        for k in keys:
            add(table, k, wrap(obj), what)
        return obj
    return deco


def load_plugin(spec: str) -> Any:
    """Import a user's extension so its ``@register_*`` lines run: a ``.py`` file path or a module name.

    ``mvkit train --plugin my_loss.py`` (repeatable) calls this before it reads the config, so
    a loss, head, objective or text encoder defined outside the package trains by name.
    """
    import importlib
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise FileNotFoundError(f"plugin {spec}: no such file")
        name = f"mvkit_plugin_{path.stem}"
        if name in sys.modules:
            return sys.modules[name]
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)
