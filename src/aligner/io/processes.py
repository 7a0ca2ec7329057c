"""Pure CPU work shared with forked processes (the alignment searches of content pairing's
re-scoring and of a run's documents), and the helpers that collect, stop and reap a forked
child (also used by the run's reading child, :class:`aligner.run.sources.SourceReader`).

The alignment searches are numpy code of many small steps: threads do not help (they hold
the GIL; two threads took 1.5 times as long as one). A forked child sees this process's
memory as it is (copy on write), so nothing is sent to it but which items to take; only
its results come back, pickled. Where ``fork`` is missing (Windows) or unsafe (macOS),
everything runs here, in order.

A child runs only ``fn``: pure CPU work that takes no lock another thread may hold and
uses no torch (OpenMP's thread pool does not survive a fork; numpy's OpenBLAS does).
Whatever goes wrong in a child, an exception or its death, the items it did not return
are computed here: an error is raised here exactly as without children, and the results
never depend on how many processes there were."""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import sys
import time
import warnings
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


CHILD_MIN_WAIT = 60.0
CHILD_WAIT_FACTOR = 10.0
"""After its own share, this process waits for the children at least CHILD_MIN_WAIT
seconds and CHILD_WAIT_FACTOR times as long as its share took; a child still silent then
is stopped and its share done here."""


def available_cpus() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def cpu_budget() -> int:
    """The processes this one may keep busy: the CPU cores it may run on, but no more than
    torch's thread count where torch is loaded (a worker given a share of the machine, by
    ``--workers N`` or by Ray, is given it as torch threads)."""
    cores = available_cpus()
    torch = sys.modules.get("torch")
    threads = getattr(torch, "get_num_threads", None)
    return min(cores, max(1, threads())) if callable(threads) else cores


def can_fork() -> bool:
    """Linux only: macOS's system libraries are not safe in a forked child, Windows has no fork."""
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def forked_map(fn: Callable[[T], R], items: Sequence[T], processes: int) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``processes`` processes: this one and children
    forked from it, the k-th of ``n`` taking items k, k + n, k + 2n, ..."""
    n = min(processes, len(items))
    if n <= 1 or not can_fork():
        return [fn(x) for x in items]
    results: list = [_MISSING] * len(items)
    children: list[tuple[int, int, int]] = []  # (pid, read end, share)
    try:
        gc.freeze()  # a collection in a child would touch (and so copy) every object's page
        try:
            for share in range(1, n):
                try:
                    read_end, write_end = os.pipe()
                except OSError:  # out of file descriptors: the shares not given out are computed here
                    break
                try:
                    with warnings.catch_warnings():  # Python 3.12+ warns about forking a process with threads
                        warnings.simplefilter("ignore", DeprecationWarning)
                        pid = os.fork()
                except OSError:  # no memory or no process left for a child: the same
                    os.close(read_end)
                    os.close(write_end)
                    break
                if pid == 0:  # pragma: no cover - the child (its coverage is not collected)
                    os.close(read_end)
                    _child(fn, items, share, n, write_end)
                os.close(write_end)
                children.append((pid, read_end, share))
        finally:
            gc.unfreeze()
        started = time.monotonic()
        for k in range(0, len(items), n):
            results[k] = fn(items[k])
        # A child's share is as much work as this process's: one that takes far longer is
        # stuck (a lock a thread held when it was forked), stopped, and its share done here.
        deadline = time.monotonic() + max(CHILD_MIN_WAIT, CHILD_WAIT_FACTOR * (time.monotonic() - started))
        while children:
            pid, read_end, share = children[0]
            children.pop(0)
            got = child_results(pid, read_end, deadline)
            for k, value in zip(range(share, len(items), n), got):
                results[k] = value
    finally:
        for pid, read_end, _ in children:  # interrupted: stop the children still running
            stop_child(pid)
            os.close(read_end)
            reap_child(pid)
    # What a child did not return (it failed, or died) is computed here.
    return [fn(items[k]) if r is _MISSING else r for k, r in enumerate(results)]


class _Missing:
    pass


_MISSING = _Missing()


def _child(fn, items, share: int, step: int, write_end: int) -> None:  # pragma: no cover - in the child
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C stops the child at once; the parent cleans up
        out = []
        try:
            for k in range(share, len(items), step):
                out.append(fn(items[k]))
        except Exception:  # noqa: BLE001 - the parent computes this item again and raises its error itself
            code = 1
        data = pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as f:
            f.write(data)
    except BaseException:  # noqa: BLE001 - nothing may escape the child into the parent's code
        code = 2
    finally:
        os._exit(code)  # no atexit handlers, no flushing of the parent's buffers


def child_results(pid: int, read_end: int, deadline: float) -> list:
    """What a forked child sent through the pipe ``read_end`` (a pickled list) until it
    closed it: ``[]`` when nothing whole came by ``deadline`` (the child is then stopped)
    or the child died while writing. Closes ``read_end`` and reaps the child (stopped first
    when the wait ends otherwise: the deadline, an interruption)."""
    chunks: list[bytes] = []
    complete = False
    try:
        while select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
    finally:
        if not complete:
            stop_child(pid)
        os.close(read_end)
        reap_child(pid)
    if not complete:
        return []
    try:
        return pickle.loads(b"".join(chunks)) if chunks else []
    except Exception:  # noqa: BLE001 - a child that died while writing: its work is done here
        return []


def stop_child(pid: int) -> None:
    """Kill a forked child (one already ended: nothing to do); :func:`reap_child` next."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:  # already ended (and reaped, where the program ignores SIGCHLD)
        pass


def reap_child(pid: int) -> None:
    """Wait for a child to end (already reaped where the program ignores SIGCHLD)."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
