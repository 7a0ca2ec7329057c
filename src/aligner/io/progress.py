"""Progress bars: ours (tqdm, shown on a terminal only) and those of the Hugging Face
libraries, and one switch that silences them all for a while.

:func:`quiet_progress_bars` is a context manager: while it is active no progress bar is
shown, neither :func:`bar`'s nor those of ``huggingface_hub`` (downloads, uploads),
``datasets`` and ``transformers`` (loading weights); sentence-transformers' ``encode`` bar
is off wherever aligner calls it (``show_progress_bar=False``). It sets those libraries'
global switches on entry and puts back the values it found on exit, so nothing leaks
into code that runs after it (the next command, the next test). It sets no environment
variable.

A library that is not imported yet is not imported just to switch it off (``datasets``
and ``transformers`` take seconds to import): :func:`sync` switches off the ones imported
since the block began (aligner calls it right after importing them), and the exit
restores those too, to the value their import gave them. Blocks nest: the outermost one
restores. :func:`quiet_unless_progress` runs a function with a ``progress`` parameter
inside such a block when it is called with ``progress=False``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
from typing import Any, Callable, Iterable, Iterator, TypeVar

_HUB = "huggingface_hub.utils.tqdm"
_DATASETS = "datasets.utils.tqdm"
_TRANSFORMERS = "transformers.utils.logging"

_SWITCHES = {_HUB: "progress_bar_states", _DATASETS: "_hf_datasets_progress_bars_disabled",
             _TRANSFORMERS: "_tqdm_active"}
"""Each library's module and the global its bars read (a module without it is left alone)."""

_lock = threading.RLock()
_depth = 0
_saved: dict[str, Any] = {}
"""Module name -> the switch's value before the outermost block changed it."""
_FROM_HUB = object()
"""Saved for transformers when it was imported after the block had switched the hub off:
its import copied the hub's (switched) state, so the exit recomputes it from the hub's."""


def progress_bars_quiet() -> bool:
    """Whether a :func:`quiet_progress_bars` block is active."""
    return _depth > 0


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """No progress bar while the block runs (see the module docstring); the libraries'
    switches are restored on exit, whatever happened in the block."""
    global _depth
    with _lock:
        _depth += 1
        if _depth == 1:
            _saved.clear()
        sync()
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _restore()


def sync() -> None:
    """Inside a :func:`quiet_progress_bars` block: switch off the bars of the libraries
    imported since it began (outside one, nothing)."""
    with _lock:
        if not _depth:
            return
        hub_was_off = _HUB in _saved
        fresh = [name for name, attr in _SWITCHES.items()
                 if name not in _saved and hasattr(sys.modules.get(name), attr)]
        for name in fresh:  # every value first: transformers' copies the hub's at import
            module = sys.modules[name]
            if name == _HUB:
                _saved[name] = dict(module.progress_bar_states)
            elif name == _DATASETS:
                _saved[name] = module._hf_datasets_progress_bars_disabled
            else:
                _saved[name] = _FROM_HUB if hub_was_off else module._tqdm_active
        for name in fresh:
            module = sys.modules[name]
            if name == _HUB:
                module.progress_bar_states.clear()
                module.progress_bar_states["_global"] = False
            elif name == _DATASETS:
                module._hf_datasets_progress_bars_disabled = True
            else:
                module._tqdm_active = False


def _restore() -> None:
    for name in (_HUB, _DATASETS, _TRANSFORMERS):  # the hub first: transformers' may be computed from it
        if name not in _saved or name not in sys.modules:
            continue
        module, value = sys.modules[name], _saved[name]
        if name == _HUB:
            module.progress_bar_states.clear()
            module.progress_bar_states.update(value)
        elif name == _DATASETS:
            module._hf_datasets_progress_bars_disabled = value
        elif value is _FROM_HUB:
            hub = sys.modules.get(_HUB)
            module._tqdm_active = not (hub.are_progress_bars_disabled() if hub is not None else False)
        else:
            module._tqdm_active = value
    _saved.clear()


F = TypeVar("F", bound=Callable[..., Any])


def quiet_unless_progress(func: F) -> F:
    """Decorate a function with a ``progress`` parameter: called with ``progress=False``
    (or that default), it runs inside :func:`quiet_progress_bars`."""
    signature = inspect.signature(func)
    default = signature.parameters["progress"].default

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            progress = signature.bind_partial(*args, **kwargs).arguments.get("progress", default)
        except TypeError:  # a wrong call: let the function itself say so
            progress = default
        if progress:
            return func(*args, **kwargs)
        with quiet_progress_bars():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


class NoBar:
    """What :func:`bar` gives when no bar is shown: iterates over ``iterable``, counts nothing."""

    def __init__(self, iterable: Iterable | None = None):
        self.iterable = iterable

    def __iter__(self) -> Iterator:
        return iter(self.iterable if self.iterable is not None else ())

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def bar(iterable: Iterable | None = None, *, enabled: bool = True, **options: Any) -> Any:
    """A tqdm progress bar on stderr (shown on a terminal only: ``disable=None``), or a
    :class:`NoBar` when not ``enabled`` or inside :func:`quiet_progress_bars`.
    ``options``: tqdm's (``total``, ``desc``, ``unit``, ``leave``)."""
    if not enabled or progress_bars_quiet():
        return NoBar(iterable)
    from tqdm import tqdm

    return tqdm(iterable, disable=None, **options)
