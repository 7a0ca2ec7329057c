"""The align run on several workers (aligner.pipeline, datatrove executors): the merged
output folder is the single-process one byte for byte (``run.json`` but its timings); a
run killed half-way and started again runs only the unfinished tasks; the Slurm executor
is built from the example configuration and writes the expected sbatch scripts; Ray runs
it on a local instance when ray is installed.

The fast tests use a stand-in encoder (hashed trigrams, from test_corpus_cli: worker
processes import it by name); the dev-set slice and the kill -9 test load the embedded
encoder (slow)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from aligner import Aligner
from aligner.cli import main
from aligner.io.files import STATE_DIR
from aligner.pipeline import (build, clear_aligners, default_workers, execute, executor_options,
                              load_executor_config)
from aligner.run import folders as corpus_mod
from aligner.run.folders import align_folders
from aligner.run.score import ScoreStage
from test_corpus_cli import BagOfTrigrams as Trigrams  # the suite's stand-in encoder (hashed trigrams)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_IDS = sorted(p.stem for p in (EXAMPLES / "en").glob("*.txt"))
DEV_DOCS = ROOT.parent / "shared" / "eval" / "dev" / "docs"
LOGS = Path(STATE_DIR) / "logs"


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so neither the library nor datatrove catches it."""


def make_folders(root: Path) -> tuple[Path, Path]:
    """16 document pairs (each example as it is and three variants) and two that fail
    (an empty English file, an Arabic file in the English folder)."""
    en_dir, ar_dir = root / "en", root / "ar"
    en_dir.mkdir(parents=True)
    ar_dir.mkdir(parents=True)
    for stem in EXAMPLE_IDS:
        en = (EXAMPLES / "en" / f"{stem}.txt").read_text(encoding="utf-8")
        ar = (EXAMPLES / "ar" / f"{stem}.txt").read_text(encoding="utf-8")
        lines = en.rstrip("\n").split("\n")
        variants = {"a": (en, ar), "b": ("\n".join(lines[:-1]) + "\n", ar),
                    "c": ("Staff report, edited by the news desk.\n\n" + en, ar),
                    "d": (en, ar + "\nوساهم في إعداد هذا التقرير مراسلونا في المنطقة.\n")}
        for tag, (en_text, ar_text) in variants.items():
            (en_dir / f"{stem}-{tag}.txt").write_text(en_text, encoding="utf-8")
            (ar_dir / f"{stem}-{tag}.txt").write_text(ar_text, encoding="utf-8")
    (en_dir / "2024-08-empty.txt").write_text("", encoding="utf-8")
    (ar_dir / "2024-08-empty.txt").write_text("نص عربي قصير.\n", encoding="utf-8")
    ar_text = (EXAMPLES / "ar" / f"{EXAMPLE_IDS[0]}.txt").read_text(encoding="utf-8")
    (en_dir / "2024-10-swapped.txt").write_text(ar_text, encoding="utf-8")
    (ar_dir / "2024-10-swapped.txt").write_text(ar_text, encoding="utf-8")
    return en_dir, ar_dir


def outputs(out: Path) -> dict[str, object]:
    """Every file of a run folder but the state: bytes; run.json without its timings."""
    files: dict[str, object] = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and STATE_DIR not in path.relative_to(out).parts:
            files[path.relative_to(out).as_posix()] = path.read_bytes()
    report = json.loads(files.pop("run.json"))
    report.pop("timings")
    files["run.json"] = report
    return files


def log_lines(out: Path) -> list[str]:
    return (out / LOGS / "aligner.log").read_text(encoding="utf-8").splitlines()


def console() -> list[str]:
    script = Path(sys.executable).with_name("aligner")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "aligner.cli"]


def env_with_src() -> dict[str, str]:
    """The environment for a child process that must import aligner (and this module)."""
    paths = [str(ROOT / "src"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


@pytest.fixture(autouse=True)
def _no_kept_aligners():
    clear_aligners()
    yield
    clear_aligners()


@pytest.fixture(scope="module")
def folders_and_reference(tmp_path_factory):
    """The 18 pairs and the single-process run of them (stand-in encoder, scored
    without e5: the scores and report need no model either)."""
    root = tmp_path_factory.mktemp("workers")
    en, ar = make_folders(root)
    reference = root / "reference"
    run = align_folders(en, ar, reference, aligner=Aligner(encoder=Trigrams()), progress=False, pair_by="name",
                        score=ScoreStage(e5=False, plot=False))
    assert run.n_aligned == 16 and run.n_failed == 2
    return en, ar, reference


# ----------------------------------------------------------------------------- (a) same bytes


@pytest.mark.slow
def test_two_workers_write_the_single_process_bytes(folders_and_reference, tmp_path):
    en, ar, reference = folders_and_reference
    out = tmp_path / "out"
    stages = build(out, en, ar, encoder=Trigrams(), pair_by="name", score=ScoreStage(e5=False, plot=False))
    result = execute(stages, executor="local", workers=2)
    assert result.ok is False and "Aligned 16 of 18 document pair(s)" in result.run.summary()
    assert outputs(out) == outputs(reference)
    timings = json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]
    tasks = timings["tasks"]
    assert [t["rank"] for t in tasks] == list(range(8))  # 4 tasks per worker by default
    assert os.getpid() not in {t["pid"] for t in tasks}  # in worker processes
    assert sum(t["documents"] + t["failed"] for t in tasks) == 18
    assert log_lines(out)[-2].endswith("align: 0 of 8 task(s) already completed, skipped; running 8 on 2 worker(s), "
                                       f"{max(1, default_workers() // 2)} torch thread(s) each")


@pytest.mark.slow
def test_sharded_writers_and_a_dataset_source(folders_and_reference, tmp_path):
    """The align step's sentence pairs through datatrove's JSONL writer (one shard per
    task); and the same documents read from a JSONL dataset align to the same beads."""
    en, ar, reference = folders_and_reference
    out = tmp_path / "out"
    execute(build(out, en, ar, encoder=Trigrams(), pair_by="name", shards="jsonl"), executor="local", workers=1,
            options={"tasks": 2})
    shards = sorted((out / "shards").glob("*.jsonl"))
    assert [p.name for p in shards] == ["corpus-00000.jsonl", "corpus-00001.jsonl"]
    # A new run with fewer tasks: only its own shards (none of the last run's beside them).
    fewer = tmp_path / "fewer"
    for tasks in (4, 2):
        execute(build(fewer, en, ar, encoder=Trigrams(), pair_by="name", shards="jsonl"), executor="local",
                workers=1, options={"tasks": tasks})
    assert sorted(p.name for p in (fewer / "shards").iterdir()) == ["corpus-00000.jsonl", "corpus-00001.jsonl"]
    sharded = sorted(line for p in shards for line in p.read_text(encoding="utf-8").splitlines())
    corpus = sorted(json.dumps(json.loads(line), ensure_ascii=False)
                    for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines())
    assert sorted(json.dumps(json.loads(line), ensure_ascii=False) for line in sharded) == corpus

    rows = tmp_path / "pairs.jsonl"
    with rows.open("w", encoding="utf-8") as handle:
        for path in sorted(en.glob("*.txt")):
            handle.write(json.dumps({"id": path.stem, "en": path.read_text(encoding="utf-8"),
                                     "ar": (ar / path.name).read_text(encoding="utf-8")}, ensure_ascii=False) + "\n")
    from_rows = tmp_path / "from-rows"
    result = execute(build(from_rows, dataset=str(rows), encoder=Trigrams()), executor="local", workers=1,
                     options={"tasks": 2})
    assert "Aligned 16 of 17 document pair(s)" in result.summary  # the empty text is no row for datatrove
    assert sorted(p.name for p in (from_rows / "beads").iterdir()) == sorted(p.name for p in (out / "beads").iterdir())
    for path in (out / "beads").iterdir():
        assert (from_rows / "beads" / path.name).read_bytes() == path.read_bytes()
    run = json.loads((from_rows / "run.json").read_text(encoding="utf-8"))
    assert run["inputs"]["dataset"] == str(rows) and run["documents"][0]["en_file"] == run["documents"][0]["doc_id"]


# ----------------------------------------------------------------------------- (b) killed, resumed


@pytest.mark.slow
def test_a_task_killed_half_way_reruns_alone(folders_and_reference, tmp_path, monkeypatch):
    """Tasks in this process (workers=1, 2 tasks): the second dies after saving two of its
    documents. The same command again skips the pair stage and the first task, and the
    second takes its two documents from the state."""
    en, ar, reference = folders_and_reference
    out = tmp_path / "out"
    real_save = corpus_mod._RunState.save
    saved = []

    def save(self, key, *args, **kwargs):
        if len(saved) == 8 + 2:  # task 0 saves its 8 documents first (task 1: 8, and the failures)
            raise Killed
        saved.append(key["doc_id"])
        return real_save(self, key, *args, **kwargs)

    def stages():
        return build(out, en, ar, encoder=Trigrams(), pair_by="name", score=ScoreStage(e5=False, plot=False))

    monkeypatch.setattr(corpus_mod._RunState, "save", save)
    with pytest.raises(Killed):
        execute(stages(), executor="local", workers=1, options={"tasks": 2})
    monkeypatch.setattr(corpus_mod._RunState, "save", real_save)
    completions = out / LOGS / "align" / "completions"
    assert sorted(p.name for p in completions.iterdir()) == ["00000"]

    result = execute(stages(), executor="local", workers=1, options={"tasks": 2})
    assert result.skipped_tasks == {"pair": 1, "align": 1, "merge": 0}
    assert "align: 1 of 2 task(s) already completed, skipped; running 1" in log_lines(out)[-2]
    tasks = json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]["tasks"]
    assert [(t["rank"], t["resumed_documents"]) for t in tasks] == [(0, 0), (1, 2)]
    assert outputs(out) == outputs(reference)


@pytest.mark.slow
def test_a_finished_run_or_another_task_count_starts_over(folders_and_reference, tmp_path, monkeypatch):
    """The same command after a finished run is a new run (its documents from the state,
    as the single-process command does); a killed run continued with another task count
    starts over too (the tasks would not be the same), here more tasks than pairs."""
    en, ar, reference = folders_and_reference
    out = tmp_path / "out"

    def run(tasks: int):
        return execute(build(out, en, ar, encoder=Trigrams(), pair_by="name", score=ScoreStage(e5=False, plot=False)),
                       executor="local", workers=1, options={"tasks": tasks})

    run(2)
    again = run(2)
    assert again.skipped_tasks == {"pair": 0, "align": 0, "merge": 0}
    assert "a new run: the last one finished" in "\n".join(log_lines(out))
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]["resumed_documents"] == 16
    assert outputs(out) == outputs(reference)

    monkeypatch.setattr(corpus_mod._RunState, "save", lambda *a, **k: (_ for _ in ()).throw(Killed))
    shutil.rmtree(out / STATE_DIR / "docs")
    with pytest.raises(Killed):
        run(2)
    monkeypatch.undo()
    assert run(20).skipped_tasks == {"pair": 0, "align": 0, "merge": 0}  # more tasks than pairs: two get none
    assert "another command or task count" in "\n".join(log_lines(out))
    assert len(json.loads((out / "run.json").read_text(encoding="utf-8"))["timings"]["tasks"]) == 18
    assert outputs(out) == outputs(reference)


# ----------------------------------------------------------------------------- the command line


@pytest.mark.slow
def test_command_line_workers_through_the_local_executor(folders_and_reference, tmp_path, monkeypatch):
    """``align --executor local --executor-config`` (tasks in this process, so the
    stand-in encoder can be patched in): what ``align`` writes and says without it."""
    en, ar, _ = folders_and_reference
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: Aligner(encoder=Trigrams()))
    args = ["align", str(en), str(ar), "--pair-by", "name", "--no-progress", "--format", "jsonl,tsv"]
    single = CliRunner().invoke(main, args + ["-o", str(tmp_path / "single")])
    assert single.exit_code == 1, single.output  # two documents failed
    config = tmp_path / "local.yaml"
    config.write_text("tasks: 3\nworkers: 1\n", encoding="utf-8")
    many = CliRunner().invoke(main, args + ["-o", str(tmp_path / "many"), "--executor", "local",
                                            "--executor-config", str(config)])
    assert many.exit_code == 1, many.output
    assert outputs(tmp_path / "many") == outputs(tmp_path / "single")
    said = [line.replace("many", "single") for line in many.stdout.splitlines()]
    assert said == single.stdout.splitlines()


@pytest.mark.parametrize("value, message", [("0", "at least 1"), ("two", "not a number of workers")])
def test_command_line_refuses_a_bad_worker_count(tmp_path, value, message):
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(tmp_path / "o"),
                                       "--workers", value])
    assert result.exit_code == 2 and message in result.output


def test_command_line_refuses_an_unknown_executor_option(tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"partition": "cpu", "time": "1:00:00", "nodes": 3}), encoding="utf-8")
    result = CliRunner().invoke(main, ["align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "-o", str(tmp_path / "o"),
                                       "--executor", "slurm", "--executor-config", str(config)])
    assert result.exit_code == 2 and "nodes: not an option of the slurm executor" in result.output
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------- (c) Slurm


def fake_slurm(bin_dir: Path, record: Path) -> dict[str, str]:
    """``sbatch`` (keeps each script and its arguments, answers a job id) and ``scontrol``
    on PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    sbatch = bin_dir / "sbatch"
    sbatch.write_text(f"""#!{sys.executable}
import json, sys
record = {str(record)!r}
jobs = json.load(open(record)) if __import__("os").path.exists(record) else []
jobs.append({{"args": sys.argv[1:-1], "script": open(sys.argv[-1]).read()}})
json.dump(jobs, open(record, "w"))
print(f"Submitted batch job {{1000 + len(jobs)}}")
""", encoding="utf-8")
    scontrol = bin_dir / "scontrol"
    scontrol.write_text("#!/bin/sh\necho localhost\n", encoding="utf-8")
    for path in (sbatch, scontrol):
        path.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_slurm_executor_from_the_example_config(tmp_path, monkeypatch):
    config = load_executor_config(EXAMPLES / "executors" / "slurm.yaml")
    options = executor_options("slurm", config)
    assert options["align"]["partition"] == config["partition"] and options["pair"]["tasks"] == 1
    record = tmp_path / "sbatch.json"
    for key, value in fake_slurm(tmp_path / "bin", record).items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    result = execute(build(out, EXAMPLES / "en", EXAMPLES / "ar", pair_by="name"), executor="slurm", options=config)
    assert result.launched and result.summary is None
    jobs = json.loads(record.read_text())
    # pair, its stats merge, align (after pair), its stats merge, merge (after align), its stats merge
    assert len(jobs) == 6 and result.jobs == {"pair": "1001", "align": "1003", "merge": "1005"}
    assert "--dependency=afterok:1001" in jobs[2]["args"] and "--dependency=afterok:1003" in jobs[4]["args"]
    logs = out / LOGS
    for stage, job in zip(("pair", "align", "merge"), (jobs[0], jobs[2], jobs[4])):
        script = (logs / stage / "launch_script.slurm").read_text()
        assert script == job["script"]
        tasks = config["tasks"] if stage == "align" else 1
        mine = options[stage]
        for line in (f"#SBATCH --partition={mine['partition']}", f"#SBATCH --time={mine['time']}",
                     f"#SBATCH --cpus-per-task={mine['cpus_per_task']}", f"#SBATCH --mem-per-cpu={mine['mem_per_cpu_gb']}G",
                     f"#SBATCH --job-name={config['job_name']}-{stage}", f"#SBATCH --array=0-{tasks - 1}%{mine['workers']}",
                     f"#SBATCH --account={config['sbatch_args']['account']}",
                     f"srun  -l -n 1 launch_pickled_pipeline {logs / stage / 'executor.pik'}"):
            assert line in script.splitlines(), (line, script)
        assert config["env_command"] in script
    assert options["pair"]["time"] != options["align"]["time"] and options["merge"]["mem_per_cpu_gb"] == 8
    assert not (out / "corpus.jsonl").exists()  # nothing runs until Slurm starts the jobs


@pytest.mark.slow
def test_slurm_jobs_run_here_give_the_single_process_bytes(folders_and_reference, tmp_path, monkeypatch):
    """The jobs the sbatch scripts start (``launch_pickled_pipeline executor.pik`` with
    ``SLURM_ARRAY_TASK_ID``), run on this machine one after the other."""
    en, ar, reference = folders_and_reference
    record = tmp_path / "sbatch.json"
    env = {**env_with_src(), **fake_slurm(tmp_path / "bin", record)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "out"
    config = {"partition": "cpu", "time": "0:10:00", "tasks": 2, "cpus_per_task": 1}
    execute(build(out, en, ar, encoder=Trigrams(), pair_by="name", score=ScoreStage(e5=False, plot=False)),
            executor="slurm", options=config)
    launcher = Path(sys.executable).with_name("launch_pickled_pipeline")
    for stage, tasks in (("pair", 1), ("align", 2), ("merge", 1)):
        for task in range(tasks):
            subprocess.run([str(launcher), str(out / LOGS / stage / "executor.pik")], check=True, capture_output=True,
                           env={**env, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_NODELIST": "localhost"})
    assert outputs(out) == outputs(reference)


# ----------------------------------------------------------------------------- (d) Ray


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # placement groups, as datatrove asks Ray for them
def test_ray_executor_on_a_local_instance(folders_and_reference, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'aligner[ray]')")
    en, ar, reference = folders_and_reference
    ray.init(num_cpus=2, include_dashboard=False, runtime_env={"env_vars": {"PYTHONPATH": env_with_src()["PYTHONPATH"]}})
    try:
        out = tmp_path / "out"
        result = execute(build(out, en, ar, encoder=Trigrams(), pair_by="name",
                               score=ScoreStage(e5=False, plot=False)),
                         executor="ray", options={"tasks": 2, "workers": 2, "cpus_per_task": 1, "mem_per_cpu_gb": 1})
    finally:
        ray.shutdown()
    assert "Aligned 16 of 18 document pair(s)" in result.summary
    assert outputs(out) == outputs(reference)


# ----------------------------------------------------------------------------- the embedded encoder


def dev_slice(root: Path, n: int = 60, rename: bool = False) -> tuple[Path, Path]:
    """The first ``n`` pairs of the dev set's gold pairing; ``rename``: the Arabic files
    under their English names (to pair by name)."""
    if not DEV_DOCS.is_dir():
        pytest.skip(f"{DEV_DOCS} is not here (the shared evaluation data)")
    en_dir, ar_dir = root / "en", root / "ar"
    en_dir.mkdir(parents=True)
    ar_dir.mkdir(parents=True)
    for line in (DEV_DOCS / "gold.tsv").read_text(encoding="utf-8").splitlines()[:n]:
        en_name, ar_name = line.split("\t")
        shutil.copy(DEV_DOCS / "en" / en_name, en_dir / en_name)
        shutil.copy(DEV_DOCS / "ar" / ar_name, ar_dir / (en_name if rename else ar_name))
    return en_dir, ar_dir


@pytest.mark.slow
def test_dev_slice_and_examples_on_two_workers(tmp_path, monkeypatch, default_aligner, use_aligner):
    """``aligner align --workers 2`` (content pairing) on 60 dev documents with USE, and
    on the examples with the default encoder (use+e5), scores and formats: the
    single-process bytes. (60 documents with e5 in both runs would triple the time and
    test nothing more: the examples check e5's bits across processes and threads.)"""
    monkeypatch.setattr(corpus_mod, "_build_aligner",
                        lambda encoder, engine=None, alignment=None: use_aligner if encoder == "use" else default_aligner)
    runs = [(dev_slice(tmp_path / "dev"), ["--encoder", "use"]),
            ((EXAMPLES / "en", EXAMPLES / "ar"), ["--score", "--no-e5", "--format", "jsonl,tsv,tmx"])]
    for k, ((en, ar), more) in enumerate(runs):
        args = ["align", str(en), str(ar), "--no-progress", *more]
        single = CliRunner().invoke(main, args + ["-o", str(tmp_path / f"single{k}")])
        assert single.exit_code == 0, single.output
        many = subprocess.run(console() + args + ["-o", str(tmp_path / f"many{k}"), "--workers", "2"],
                              capture_output=True, text=True, env=env_with_src(), timeout=600)
        assert many.returncode == 0, many.stderr[-3000:]
        assert outputs(tmp_path / f"many{k}") == outputs(tmp_path / f"single{k}")
        tasks = json.loads((tmp_path / f"many{k}" / "run.json").read_text())["timings"]["tasks"]
        assert len({t["pid"] for t in tasks}) == 2 if k == 0 else len(tasks) <= 4  # 60 documents in 8 tasks


@pytest.mark.slow
def test_quiet_two_workers_print_nothing_but_keep_their_logs(tmp_path):
    """``aligner -q align --workers 2``: datatrove's per-task log (INFO to stderr in each
    task, the run's stats) stays in the task log files; stderr is empty, as it is for one
    process."""
    args = ["-q", "align", str(EXAMPLES / "en"), str(EXAMPLES / "ar"), "--encoder", "use", "--workers", "2",
            "-o", str(tmp_path / "out")]
    run = subprocess.run(console() + args, capture_output=True, text=True, env=env_with_src(), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stderr == ""
    logs = sorted((tmp_path / "out" / STATE_DIR / "logs" / "align" / "logs").glob("task_*.log"))
    assert logs and all("Launching pipeline for rank=" in log.read_text(encoding="utf-8") for log in logs)


@pytest.mark.slow
def test_kill_9_one_worker_then_rerun(tmp_path, monkeypatch, use_aligner):
    """60 dev documents in 4 tasks on 2 worker processes: SIGKILL the worker of an
    unfinished task once it has saved a document, let the others finish, stop the run
    (the executor waits for the lost task forever), run the same command again: only
    that task runs, it takes its saved documents from the state, and the output is the
    single-process one."""
    en, ar = dev_slice(tmp_path / "dev", rename=True)
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: use_aligner)
    args = ["align", str(en), str(ar), "--no-progress", "--pair-by", "name", "--encoder", "use"]
    single = CliRunner().invoke(main, args + ["-o", str(tmp_path / "single")])
    assert single.exit_code == 0, single.output

    out = tmp_path / "out"
    config = tmp_path / "local.yaml"
    config.write_text("tasks: 4\nworkers: 2\n", encoding="utf-8")
    command = console() + args + ["-o", str(out), "--executor-config", str(config)]
    doc_ids = sorted(p.stem for p in en.glob("*.txt"))
    state = corpus_mod._RunState(out, {})
    logs = out / LOGS / "align"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_with_src(),
                            start_new_session=True)
    killed = None
    try:
        deadline = time.monotonic() + 300
        while killed is None and time.monotonic() < deadline and proc.poll() is None:
            for rank in range(4):
                log = logs / "logs" / f"task_{rank:05d}.log"
                if (logs / "completions" / f"{rank:05d}").exists() or not log.exists():
                    continue
                mine = doc_ids[rank::4]
                if any(state._part_path(d).exists() for d in mine) and not all(state._part_path(d).exists()
                                                                               for d in mine):
                    pid = next((int(line.split("pid=")[1].split()[0]) for line in log.read_text().splitlines()
                                if "aligner worker pid=" in line), None)
                    if pid is not None:
                        os.kill(pid, signal.SIGKILL)
                        killed = rank
                        break
            time.sleep(0.02)
        assert killed is not None, "no task was caught half-way"
        assert pid != proc.pid
        others = [r for r in range(4) if r != killed]
        while time.monotonic() < deadline and proc.poll() is None \
                and not all((logs / "completions" / f"{r:05d}").exists() for r in others):
            time.sleep(0.2)
        time.sleep(1)
        assert proc.poll() is None  # waiting for the lost task
        assert not (logs / "completions" / f"{killed:05d}").exists()
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    saved = sum(corpus_mod._RunState(out, {})._part_path(d).exists() for d in doc_ids[killed::4])

    rerun = subprocess.run(command, capture_output=True, text=True, env=env_with_src(), timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "align: 3 of 4 task(s) already completed, skipped; running 1" in "\n".join(log_lines(out))
    assert "Tasks completed by an earlier run, skipped: pair 1, align 3" in rerun.stdout
    tasks = {t["rank"]: t for t in json.loads((out / "run.json").read_text())["timings"]["tasks"]}
    assert tasks[killed]["resumed_documents"] == saved >= 1
    assert outputs(out) == outputs(tmp_path / "single")


def test_the_guide_shows_the_example_configurations():
    """docs/usage/cluster.md shows each examples/executors/*.yaml whole, as it is."""
    import re

    guide = (ROOT / "docs" / "usage" / "cluster.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r"`examples/executors/(\w+\.yaml)`:\n\n```yaml\n(.*?)```", guide, re.S))
    files = sorted((EXAMPLES / "executors").glob("*.yaml"))
    assert sorted(shown) == [p.name for p in files]
    for path in files:
        assert shown[path.name] == path.read_text(encoding="utf-8"), path.name
        executor_options(path.stem, load_executor_config(path))  # every key is one the executor takes
