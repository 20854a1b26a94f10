"""Hugging Face hub lookups that fail fast offline, with one line that says what to do.

open_clip's Hugging Face text towers (xlm-roberta, nllb, mt5, ...) read their base config and
tokenizer from the hub even for random weights, and pretrained tags download weights. Without
network, transformers retries for about half a minute and then raises an ``OSError``.
:func:`offline_first` runs such a build with the hub switched off (so anything in the local
cache, or in a local folder, is used at once); only if that fails for want of hub files *and*
the hub answers is the build tried again online. Otherwise :class:`HubUnavailable` names what is
missing and how to work offline (a ``local-dir:`` folder, ``mvkit export-encoder``).
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlparse

T = TypeVar("T")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
#: what a user reads when a hub lookup is impossible (the offline route, docs/backbone.md)
OFFLINE_HINT = ("lay the model out as a local folder once (`mvkit export-encoder --help`, docs/backbone.md "
                "'Offline towers') and pass 'local-dir:<folder>'")


class HubUnavailable(ValueError):
    """A model needs files from the Hugging Face hub that are neither cached nor reachable."""


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "on")


def user_offline() -> bool:
    """True when the user switched the hub off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(_truthy(os.environ.get(v)) for v in _OFFLINE_VARS)


def hub_reachable(timeout: float = 3.0) -> bool:
    """True if a TCP connection to the hub (``HF_ENDPOINT`` or huggingface.co, port 443) opens."""
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        socket.create_connection((url.hostname or "huggingface.co", url.port or 443), timeout=timeout).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """The hub switched off for the block: the environment variables, and huggingface_hub's
    module constant when it is already imported (it reads the variables only at import)."""
    old = {v: os.environ.get(v) for v in _OFFLINE_VARS}
    constants = sys.modules.get("huggingface_hub.constants")
    old_const = getattr(constants, "HF_HUB_OFFLINE", None)
    os.environ.update({v: "1" for v in _OFFLINE_VARS})
    if constants is not None:
        constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val
        if constants is not None:
            constants.HF_HUB_OFFLINE = old_const


def _hub_related(e: BaseException) -> bool:
    """True if ``e`` (or an exception it came from) says hub files could not be had."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        mod = type(cur).__module__ or ""
        text = str(cur).lower()
        if mod.startswith("huggingface_hub") or isinstance(cur, (ConnectionError, socket.gaierror)) or any(
                s in text for s in ("offline", "huggingface.co", "cached files", "cached path", "connect to")):
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def offline_first(build: Callable[[], T], what: str, needs: str = "") -> T:
    """``build()`` with the hub off; again online only if that failed for want of hub files and
    the hub is reachable (and the user did not switch it off).

    ``what`` names the model in the error (``needs``: the hub files it wanted, e.g. the HF
    model id). Raises :class:`HubUnavailable` (one line: what is missing, what to do).
    """
    try:
        with hub_offline():
            return build()
    except (OSError, ValueError, RuntimeError) as e:
        if not _hub_related(e):
            raise
        if user_offline() or not hub_reachable():
            why = "the hub is switched off (HF_HUB_OFFLINE)" if user_offline() else "the hub cannot be reached"
            files = f" ({needs})" if needs else ""
            raise HubUnavailable(f"{what}: needs Hugging Face hub files{files} that are not in the local cache, "
                                 f"and {why}; {OFFLINE_HINT}") from None
    return build()
