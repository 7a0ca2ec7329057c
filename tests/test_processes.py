"""Work shared with forked processes (aligner.io.processes) and content pairing's
re-scoring searches shared that way: the same results however many processes, whatever
a child does."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from aligner.alignment import AlignmentConfig, align_runs, run_embeddings_by_mean
from aligner.io import processes
from aligner.io.processes import forked_map
from aligner import documents
from aligner.pairing import content
from test_sources import _no_children_left  # the reading child's check: no child left unreaped

PARENT = os.getpid()

needs_fork = pytest.mark.skipif(not processes.can_fork(), reason="fork is used on Linux only")


def _square(x: int) -> tuple[int, int]:
    return x, x * x


@needs_fork
@pytest.mark.parametrize("items, procs", [(0, 3), (1, 3), (7, 1), (7, 2), (10, 3), (3, 8)])
def test_forked_map_is_map(items, procs):
    assert forked_map(_square, list(range(items)), procs) == [_square(x) for x in range(items)]
    assert _no_children_left()


@needs_fork
def test_items_are_computed_in_children():
    got = forked_map(lambda x: os.getpid(), list(range(6)), 3)
    assert got[0::3] == [PARENT, PARENT] and len(set(got)) == 3


@needs_fork
def test_an_error_in_a_child_is_raised_here_as_without_children():
    def fails_on_four(x: int) -> int:
        if x == 4:  # item 4 of 6 on 3 processes: the second child's
            raise ValueError(f"item {x} in process {'parent' if os.getpid() == PARENT else 'child'}")
        return x

    with pytest.raises(ValueError, match="item 4 in process parent"):
        forked_map(fails_on_four, list(range(6)), 3)
    assert _no_children_left()


@needs_fork
def test_a_child_that_dies_leaves_its_items_to_this_process():
    def dies_in_child(x: int) -> tuple[int, int]:
        if os.getpid() != PARENT:
            os._exit(9)
        return _square(x)

    assert forked_map(dies_in_child, list(range(7)), 2) == [_square(x) for x in range(7)]
    assert _no_children_left()


@needs_fork
def test_a_program_that_ignores_sigchld_gets_its_results(monkeypatch):
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert forked_map(_square, list(range(9)), 3) == [_square(x) for x in range(9)]
    finally:
        signal.signal(signal.SIGCHLD, old)


def test_without_fork_everything_runs_here_in_order(monkeypatch):
    monkeypatch.setattr(processes, "can_fork", lambda: False)
    seen = []
    assert forked_map(lambda x: seen.append((x, os.getpid())) or x, [3, 1, 2], 4) == [3, 1, 2]
    assert seen == [(3, PARENT), (1, PARENT), (2, PARENT)]


def _jobs(count: int, seed: int = 0) -> list[dict]:
    """Re-scoring-like jobs: pairs of short documents, a true pair every other one."""
    rng = np.random.default_rng(seed)
    jobs = []
    for k in range(count):
        n, m = int(rng.integers(3, 30)), int(rng.integers(3, 30))
        en = rng.standard_normal((n, 24)).astype(np.float32)
        ar = (en[:m] + 0.3 * rng.standard_normal((min(n, m), 24)).astype(np.float32)) if k % 2 == 0 and m <= n \
            else rng.standard_normal((m, 24)).astype(np.float32)
        jobs.append(dict(en_runs=run_embeddings_by_mean(en / np.linalg.norm(en, axis=1, keepdims=True), 8),
                         ar_runs=run_embeddings_by_mean(ar / np.linalg.norm(ar, axis=1, keepdims=True), 8),
                         config=AlignmentConfig(), en_lengths=rng.integers(10, 90, n).astype(float),
                         ar_lengths=rng.integers(10, 90, len(ar)).astype(float)))
    return jobs


@pytest.mark.parametrize("procs", [1, 2, 3])
def test_rescoring_searches_shared_between_processes_are_the_same_beads(procs, monkeypatch):
    monkeypatch.setattr(documents, "ALIGN_CELLS_PER_PROCESS", 1)
    used = []
    real = documents.forked_map
    monkeypatch.setattr(documents, "forked_map", lambda fn, shares, p: used.append(p) or real(fn, shares, p))
    jobs = _jobs(48)  # 16 alignments each on 3 processes
    expected = [align_runs(**job) for job in jobs]
    assert documents.align_runs_shared(jobs, procs) == expected
    assert used == ([procs] if procs > 1 else [])
    assert _no_children_left()


class _OnDemand(list):
    """Runs computed on demand (not arrays): such a job must stay in this process."""


def test_runs_computed_on_demand_are_not_searched_in_a_child(monkeypatch):
    jobs = _jobs(40, seed=1)
    jobs[5]["en_runs"] = [_OnDemand(r) for r in jobs[5]["en_runs"]]
    sent = []

    def recording_map(fn, shares, procs):
        sent.extend(id(job) for share in shares for job in share)
        return [fn(share) for share in shares]

    monkeypatch.setattr(documents, "ALIGN_CELLS_PER_PROCESS", 1)
    monkeypatch.setattr(documents, "forked_map", recording_map)
    monkeypatch.setattr(documents, "align_runs_many", lambda jobs: [len(job["en_runs"][0]) for job in jobs])
    got = documents.align_runs_shared(jobs, 2)
    assert id(jobs[5]) not in sent and len(sent) == 39
    assert got == [len(job["en_runs"][0]) for job in jobs]


@pytest.mark.parametrize("count, cells_each, forks", [
    (31, 1, []),              # fewer than two processes' alignments
    (32, 1, [2]),
    (64, 20_000, []),         # 64 one-line documents (4 cells each): too little work
    (40, 50, [2]),
])
def test_little_work_stays_in_this_process(monkeypatch, count, cells_each, forks):
    monkeypatch.setattr(documents, "ALIGN_CELLS_PER_PROCESS", cells_each)
    calls = []
    monkeypatch.setattr(documents, "forked_map", lambda fn, shares, procs: calls.append(procs) or [[]] * procs)
    jobs = _jobs(count, seed=2) if cells_each < 20_000 else [
        dict(en_runs=run_embeddings_by_mean(np.eye(1, 24, dtype=np.float32), 8),
             ar_runs=run_embeddings_by_mean(np.eye(1, 24, dtype=np.float32), 8)) for _ in range(count)]
    got = documents.align_runs_shared(jobs, 8)
    assert calls == forks
    assert got == [align_runs(**job) for job in jobs]  # a share a child did not return: done here


def _edges(pairs):
    return [content._Edge(i, j, 0.0) for i, j in pairs]


@pytest.mark.parametrize("pairs, start, documents, end", [
    ([(0, 0), (0, 1), (1, 1), (2, 2)], 0, 3, 2),   # e0 a0 a1; e1 would make 4
    ([(0, 0), (0, 1), (1, 1), (2, 2)], 0, 4, 3),
    ([(0, 0), (0, 1), (1, 1), (2, 2)], 2, 2, 3),
    ([(0, 0), (0, 1), (1, 1), (2, 2)], 3, 2, 4),
    ([(0, 0), (1, 0), (2, 0)], 0, 1, 1),             # always at least one edge
    ([(0, 0), (1, 0), (2, 0)], 0, 4, 3),
])
def test_chunk_end_counts_the_documents_of_both_sides(pairs, start, documents, end):
    side_en, side_ar = content._Side("en"), content._Side("ar")
    assert content._chunk_end(_edges(pairs), start, side_en, side_ar, documents) == end


def test_pairs_are_the_same_whatever_the_chunks_and_processes(tmp_path, monkeypatch):
    # Chunks of two documents, cut again after every job by a tiny byte budget, on one
    # process or on several: the same pairs, scores and candidates as by default.
    from test_pairing_content import HashedWords, write

    from aligner import Aligner
    from aligner.pairing.names import pair_documents

    lines = [f"item {k} {k * 7} {k * 13} {k * 31}" for k in range(40)]
    en = write(tmp_path / "en", {f"e{d}.txt": "\n".join(lines[d * 8:d * 8 + 8]) + "\n" for d in range(5)})
    ar = write(tmp_path / "ar", {f"a{d}.txt": "\n".join(lines[d * 8 + 1:d * 8 + 8]) + "\n" for d in range(5)})

    def run():
        found = pair_documents(en, ar, aligner=Aligner(encoder=HashedWords()), method="content", presplit=True)
        return found.pairs, found.unpaired_en, found.unpaired_ar

    expected = run()
    assert len(expected[0]) == 5
    monkeypatch.setattr(documents, "ALIGN_JOBS_PER_PROCESS", 1)
    assert run() == expected
    monkeypatch.setattr(content._RunsCache, "max_bytes", 1)
    monkeypatch.setattr(content, "_chunk_end", lambda edges, start, en, ar, documents: min(len(edges), start + 2))
    assert run() == expected


def test_the_cpu_budget_is_the_cores_unless_torch_was_given_fewer_threads(monkeypatch):
    import sys
    import types

    monkeypatch.setattr(processes, "available_cpus", lambda: 8)
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert processes.cpu_budget() == 8
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(get_num_threads=lambda: 3))
    assert processes.cpu_budget() == 3  # a worker given 3 threads of the machine
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(get_num_threads=lambda: 32))
    assert processes.cpu_budget() == 8


@needs_fork
def test_a_fork_that_fails_leaves_its_share_to_this_process(monkeypatch):
    real_fork, forks = os.fork, []

    def fork_once():  # the second fork fails (no memory left for a process)
        forks.append(1)
        if len(forks) > 1:
            raise OSError(12, "Cannot allocate memory")
        return real_fork()

    monkeypatch.setattr(os, "fork", fork_once)
    got = forked_map(lambda x: (x, os.getpid()), list(range(9)), 3)
    assert [x for x, _ in got] == list(range(9))
    assert len({pid for _, pid in got}) == 2  # this process and the one child
    assert [pid for x, pid in got if x % 3 == 2] == [PARENT] * 3  # the third share, done here
    assert _no_children_left()


@needs_fork
def test_a_stuck_child_is_stopped_and_its_share_done_here(monkeypatch):
    import time

    monkeypatch.setattr(processes, "CHILD_MIN_WAIT", 0.5)

    def stuck_in_child(x: int) -> tuple[int, int]:
        if os.getpid() != PARENT:
            time.sleep(3600)  # a lock a thread held at the fork, say
        return _square(x)

    t0 = time.monotonic()
    assert forked_map(stuck_in_child, list(range(6)), 2) == [_square(x) for x in range(6)]
    assert time.monotonic() - t0 < 30
    assert _no_children_left()
