"""What the command line prints where (issue 17, point 3): results on stdout, progress,
logs, warnings and failed documents on stderr; ``-q`` / ``-v`` on the group; ``--json``
on align, score, pair and export (one object, the keys docs/usage/cli.md lists); the
library logs (``logging``) and prints nothing; ``--no-progress`` and ``-q`` silence the
Hugging Face libraries' bars and put their switches back afterwards.

Everything runs with the stand-in encoder of test_bad_inputs (hashed trigrams, no model)."""

from __future__ import annotations

import json
import logging
import re
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import aligner.encoders
from aligner.cli import main
from aligner.io import progress as progress_mod
from aligner.io.progress import NoBar, bar, quiet_progress_bars, sync
from aligner.run import folders as corpus_mod
from aligner.run.folders import align_folders
from test_bad_inputs import AR, EN, BagOfTrigrams, fake_aligner  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "usage" / "cli.md"
BUILD_ALIGNER = corpus_mod._build_aligner  # the real one, before the stand-in replaces it


@pytest.fixture(autouse=True)
def stand_in_encoder(monkeypatch, fake_aligner):
    """`align` and `pair` build the stand-in aligner, `score` loads the stand-in encoder."""
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: fake_aligner)
    monkeypatch.setattr(aligner.encoders, "load_encoder", lambda name, engine=None: BagOfTrigrams())


def folders(tmp_path: Path, *, bad: bool = False, unpaired: bool = False) -> tuple[Path, Path]:
    """Two good pairs; ``bad``: a third whose Arabic side is binary (a failed document);
    ``unpaired``: an English file without a partner."""
    en, ar = tmp_path / "en", tmp_path / "ar"
    en.mkdir(parents=True)
    ar.mkdir(parents=True)
    for name in ("a", "b"):
        (en / f"{name}.txt").write_text(EN, encoding="utf-8")
        (ar / f"{name}.txt").write_text(AR, encoding="utf-8")
    if bad:
        (en / "c.txt").write_text(EN, encoding="utf-8")
        (ar / "c.txt").write_bytes(b"\x00\x01\x02 binary \x00" * 20)
    if unpaired:
        (en / "lonely.txt").write_text(EN, encoding="utf-8")
    return en, ar


def invoke(*args: object):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def align(tmp_path: Path, *options: str, bad: bool = False, unpaired: bool = False, group: tuple = ()):
    en, ar = folders(tmp_path, bad=bad, unpaired=unpaired)
    return invoke(*group, "align", en, ar, "-o", tmp_path / "out", "--pair-by", "name", "--no-progress", *options)


# ----------------------------------------------------------------------------- stdout and stderr


def test_results_on_stdout_warnings_and_failures_on_stderr(tmp_path):
    result = align(tmp_path, bad=True, unpaired=True)
    assert result.exit_code == 1  # a document failed
    out, err = result.stdout, result.stderr
    assert out.startswith("Aligned 2 of 3 document pair(s): ")
    assert out.endswith(f"Corpus written to {tmp_path / 'out' / 'corpus.jsonl'}\n")
    for line in ("Failed documents (1):", "Unpaired files, not aligned (1):", "lonely.txt"):
        assert line in err and line not in out
    assert re.search(r"^  c: .*c\.txt", err, re.M)
    # Together, the terminal shows what it showed before: the same lines in the same order.
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run["summary"]["failed"] == 1
    assert result.output.index("Aligned 2 of 3") < result.output.index("Unpaired files") \
        < result.output.index("Failed documents") < result.output.index("Corpus written to")


def test_summary_blocks_make_the_summary(tmp_path, fake_aligner):
    en, ar = folders(tmp_path, bad=True, unpaired=True)
    run = align_folders(en, ar, tmp_path / "out", aligner=fake_aligner, progress=False)
    blocks = run.summary_blocks()
    assert "\n".join(text for _, text in blocks) == run.summary()
    assert [kind for kind, _ in blocks] == ["result", "warning", "error", "result"]


def test_scoring_table_and_formats_on_stdout_empty_split_note_on_stderr(tmp_path):
    result = align(tmp_path, "--no-e5", "--no-plot", "--score", "--format", "tsv", "--split", "1,0,0")
    assert result.exit_code == 0, result.output
    assert "Scored 6 pair(s): 6 kept" in result.stdout and "score " in result.stdout
    assert f"Wrote {tmp_path / 'out' / 'corpus.train.tsv'}" in result.stdout
    assert "Split 'validation' got no document: not written." in result.stderr
    assert "Split 'validation'" not in result.stdout


def test_pair_problems_and_skipped_files_on_stderr(tmp_path):
    en, ar = folders(tmp_path)
    (en / ".hidden.txt").write_text(EN, encoding="utf-8")
    result = invoke("pair", en, ar, "-o", tmp_path / "pairs.tsv", "--pair-by", "name")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 pair(s) (2 by name) written to ")
    assert "Skipped, not read (1):" in result.stderr and "Skipped" not in result.stdout


# ----------------------------------------------------------------------------- -q and -v


def test_quiet_leaves_only_errors_on_stderr(tmp_path):
    result = align(tmp_path, bad=True, unpaired=True, group=("-q",))
    assert result.exit_code == 1
    assert "Failed documents (1):" in result.stderr  # an error: shown
    assert "Unpaired files" not in result.output  # a warning: not
    assert result.stdout.startswith("Aligned 2 of 3 document pair(s)")  # results are not quietened


def test_quiet_clean_run_prints_nothing_on_stderr(tmp_path):
    result = align(tmp_path, "--no-e5", "--score", "--no-plot", group=("--quiet",))
    assert result.exit_code == 0 and result.stderr == ""
    assert "Corpus written to" in result.stdout


def test_default_shows_no_info_and_verbose_does(tmp_path):
    plain = align(tmp_path / "plain")
    assert plain.exit_code == 0 and plain.stderr == ""
    verbose = align(tmp_path / "v", group=("-v",))
    assert verbose.exit_code == 0
    assert "Paired 2 document(s) (2 by name); unpaired: 0 English, 0 Arabic\n" in verbose.stderr
    assert "Aligned 2 of 2 document pair(s) in " in verbose.stderr
    assert "debug:" not in verbose.stderr
    assert verbose.stdout == plain.stdout.replace(str(tmp_path / "plain"), str(tmp_path / "v"))
    debug = align(tmp_path / "vv", group=("-vv",))
    assert re.search(r"^debug: a: 3 sentence pair\(s\) in ", debug.stderr, re.M)


def test_verbose_logs_failures_as_they_happen(tmp_path):
    result = align(tmp_path, bad=True, group=("-v",))
    assert re.search(r"^c: not aligned: ", result.stderr, re.M)  # as it happened
    assert "Failed documents (1):" in result.stderr  # and in the summary


def test_no_moved_and_no_anchors_reach_the_alignment_settings(tmp_path, monkeypatch, fake_aligner):
    seen = []
    monkeypatch.setattr(corpus_mod, "_build_aligner",
                        lambda encoder, engine=None, alignment=None: seen.append(alignment) or fake_aligner)
    for k, options in enumerate([(), ("--no-moved",), ("--no-anchors",), ("--no-moved", "--no-anchors")]):
        assert align(tmp_path / str(k), *options).exit_code == 0
    assert seen == [None, {"moved_blocks": False}, {"anchor_weight": 0.0}, {"moved_blocks": False, "anchor_weight": 0.0}]


def test_quiet_and_verbose_together_is_a_usage_error(tmp_path):
    result = align(tmp_path, group=("-q", "-v"))
    assert result.exit_code == 2 and "cannot be used together" in result.stderr


def test_library_warning_shown_with_its_level(tmp_path, monkeypatch):
    def build(encoder, engine=None, alignment=None):
        logging.getLogger("aligner.encoders.transformers_encoder").warning("pooling guessed")
        return aligner.Aligner(encoder=BagOfTrigrams())

    monkeypatch.setattr(corpus_mod, "_build_aligner", build)
    assert "warning: pooling guessed\n" in align(tmp_path / "a").stderr
    assert "pooling guessed" not in align(tmp_path / "b", group=("-q",)).stderr


def test_command_leaves_the_aligner_logger_as_it_was(tmp_path):
    logger = logging.getLogger("aligner")
    before = (list(logger.handlers), logger.level)
    align(tmp_path / "a", group=("-vv",))
    align(tmp_path / "b", group=("-q",))
    assert (list(logger.handlers), logger.level) == before
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


# ----------------------------------------------------------------------------- --json


def documented_keys(heading: str) -> set[str]:
    """The keys docs/usage/cli.md lists under the heading '### HEADING': the first column
    of its table."""
    text = CLI_PAGE.read_text(encoding="utf-8")
    match = re.search(rf"^### {re.escape(heading)}\n(.*?)(?=^#|\Z)", text, re.M | re.S)
    assert match, f"docs/usage/cli.md has no section '### {heading}'"
    return set(re.findall(r"^\| `([a-z_]+)` \|", match.group(1), re.M))


def test_align_json(tmp_path):
    result = align(tmp_path, "--json", "--format", "tsv", bad=True, unpaired=True)
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # one object, nothing else
    assert set(data) == documented_keys("`aligner align --json`")
    assert data["command"] == "align" and data["ok"] is False
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert data["summary"] == run["summary"]
    assert [f["doc_id"] for f in data["failed"]] == ["c"]
    assert set(data) - set(run) == {"command", "ok", "outputs", "warnings", "scoring", "formats", "review"}
    assert set(run) - set(data) == {"documents"}  # run.json less the per-document list
    assert all(Path(data["outputs"][k]).exists() for k in ("corpus", "unaligned", "run", "beads", "pairs"))
    assert data["formats"]["written"] == [str(tmp_path / "out" / "corpus.tsv")]
    assert data["scoring"] is None and data["review"] is None
    assert "Failed documents (1):" in result.stderr  # stderr as without --json


def test_align_json_with_scoring(tmp_path):
    result = align(tmp_path, "--json", "--no-e5", "--no-plot", "--min-quality", "0.5")
    data = json.loads(result.stdout)
    scoring = data["scoring"]
    assert set(scoring) == documented_keys("`scoring` (`align --json`, `score --json`)")
    assert scoring["kept"] + scoring["rejected"] == scoring["pairs"] == data["summary"]["pairs"]
    assert scoring["filter"] == ["quality >= 0.5"]
    assert Path(scoring["outputs"]["report"]).is_file()


def test_score_json(tmp_path, fake_aligner):
    en, ar = folders(tmp_path)
    align_folders(en, ar, tmp_path / "run", aligner=fake_aligner, progress=False)
    result = invoke("score", tmp_path / "run", "-o", tmp_path / "scored", "--no-e5", "--no-plot", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == documented_keys("`aligner score --json`")
    assert data["scoring"]["pairs"] == 6 and data["out_dir"] == str(tmp_path / "scored")


def test_pair_json(tmp_path):
    en, ar = folders(tmp_path, unpaired=True)
    result = invoke("pair", en, ar, "-o", tmp_path / "pairs.tsv", "--pair-by", "name", "--json")
    data = json.loads(result.stdout)
    assert set(data) == documented_keys("`aligner pair --json`")
    assert data["pairs"] == 2 and data["by_method"] == {"name": 2} and data["unpaired_en"] == 1
    assert Path(data["outputs"]["pairs"]).is_file()


def test_export_json(tmp_path, fake_aligner):
    en, ar = folders(tmp_path)
    align_folders(en, ar, tmp_path / "run", aligner=fake_aligner, progress=False)
    result = invoke("export", tmp_path / "run", "-o", tmp_path / "x", "--format", "tsv,moses", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == documented_keys("`aligner export --json`")
    assert data["pairs"] == 6 and len(data["formats"]["written"]) == 3  # corpus.tsv, corpus.en, corpus.ar


def test_usage_error_prints_no_json(tmp_path):
    result = invoke("export", tmp_path, "-o", tmp_path / "x", "--json")
    assert result.exit_code == 2 and result.stdout == ""


# ----------------------------------------------------------------------------- the library logs


def test_library_logs_and_prints_nothing(tmp_path, fake_aligner, caplog, capsys):
    en, ar = folders(tmp_path, bad=True)
    caplog.set_level(logging.DEBUG, logger="aligner")
    run = align_folders(en, ar, tmp_path / "out", aligner=fake_aligner, progress=False)
    assert run.n_failed == 1
    assert capsys.readouterr() == ("", "")
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("aligner.run.folders", "INFO", "Paired 3 document(s) (3 by name); unpaired: 0 English, 0 Arabic") \
        in messages
    assert any(name == "aligner.run.folders" and msg.startswith("c: not aligned: ") for name, _, msg in messages)
    assert all(name.startswith("aligner.") for name, _, _ in messages)


def test_library_has_only_a_null_handler():
    import aligner as package

    logger = logging.getLogger(package.__name__)
    assert [type(h) for h in logger.handlers] == [logging.NullHandler]
    assert logger.level == logging.NOTSET


def test_no_print_in_library_code():
    """Outside the command line, nothing prints or writes to stderr: it logs."""
    calls = re.compile(r"^(?!\s*#).*\b(print\(|sys\.stderr\.write|sys\.stdout\.write|click\.echo)", re.M)
    offenders = []
    for path in sorted((ROOT / "src" / "aligner").rglob("*.py")):
        if path.name == "cli.py":
            continue
        code = re.sub(r'("""|\'\'\').*?\1', "", path.read_text(encoding="utf-8"), flags=re.S)  # docstrings
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0).strip()}" for m in calls.finditer(code)
                      if "'print(" not in m.group(0)]  # a card's code example, in a string
    assert not offenders, offenders


# ----------------------------------------------------------------------------- progress bars


def _fake_libraries(monkeypatch, hub_states: dict | None = None) -> dict[str, types.ModuleType]:
    """Stand-ins for the three modules whose globals the bars read (as their real
    modules have them), in sys.modules."""
    hub = types.ModuleType(progress_mod._HUB)
    hub.progress_bar_states = dict(hub_states or {})
    hub.are_progress_bars_disabled = lambda name=None: not hub.progress_bar_states.get("_global", True)
    datasets = types.ModuleType(progress_mod._DATASETS)
    datasets._hf_datasets_progress_bars_disabled = False
    transformers = types.ModuleType(progress_mod._TRANSFORMERS)
    transformers._tqdm_active = not hub.are_progress_bars_disabled()
    modules = {progress_mod._HUB: hub, progress_mod._DATASETS: datasets, progress_mod._TRANSFORMERS: transformers}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return modules


def _states(modules) -> tuple:
    return (dict(modules[progress_mod._HUB].progress_bar_states),
            modules[progress_mod._DATASETS]._hf_datasets_progress_bars_disabled,
            modules[progress_mod._TRANSFORMERS]._tqdm_active)


def test_quiet_progress_bars_switches_off_and_restores(monkeypatch):
    modules = _fake_libraries(monkeypatch, {"_global": True, "huggingface_hub.lfs": False})
    before = _states(modules)
    with quiet_progress_bars():
        assert _states(modules) == ({"_global": False}, True, False)
        with quiet_progress_bars():  # nested: the outer block restores
            pass
        assert _states(modules) == ({"_global": False}, True, False)
        assert isinstance(bar(range(3), desc="x"), NoBar) and list(bar(range(3))) == [0, 1, 2]
    assert _states(modules) == before
    assert not progress_mod.progress_bars_quiet()


def test_quiet_progress_bars_restores_after_an_error(monkeypatch):
    modules = _fake_libraries(monkeypatch)
    before = _states(modules)
    with pytest.raises(RuntimeError), quiet_progress_bars():
        raise RuntimeError("boom")
    assert _states(modules) == before


def test_library_imported_inside_the_block_is_switched_and_restored(monkeypatch):
    for name in (progress_mod._HUB, progress_mod._DATASETS, progress_mod._TRANSFORMERS):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with quiet_progress_bars():
        modules = _fake_libraries(monkeypatch)  # "imported" now: the hub first...
        del sys.modules[progress_mod._TRANSFORMERS]
        sync()
        assert modules[progress_mod._HUB].progress_bar_states == {"_global": False}
        # ...transformers later: its import copied the hub's switched state (False).
        late = types.ModuleType(progress_mod._TRANSFORMERS)
        late._tqdm_active = False
        sys.modules[progress_mod._TRANSFORMERS] = late
        sync()
        assert modules[progress_mod._DATASETS]._hf_datasets_progress_bars_disabled is True
    assert modules[progress_mod._HUB].progress_bar_states == {}
    assert modules[progress_mod._DATASETS]._hf_datasets_progress_bars_disabled is False
    assert late._tqdm_active is True  # what its import would have given with the hub as it is


@pytest.mark.slow  # imports transformers and its dependants (about 5-10 s)
def test_real_libraries_switched_and_restored():
    hub_tqdm = pytest.importorskip("huggingface_hub.utils.tqdm")
    hf_logging = pytest.importorskip("transformers.utils.logging")
    ds_tqdm = pytest.importorskip("datasets.utils.tqdm")
    from huggingface_hub.utils import are_progress_bars_disabled

    before = (dict(hub_tqdm.progress_bar_states), hf_logging.is_progress_bar_enabled(),
              ds_tqdm.are_progress_bars_disabled())
    with quiet_progress_bars():
        assert are_progress_bars_disabled() and are_progress_bars_disabled("huggingface_hub.lfs_upload")
        assert not hf_logging.is_progress_bar_enabled() and ds_tqdm.are_progress_bars_disabled()
        assert hf_logging.tqdm(range(2)).__class__.__name__ == "EmptyTqdm"
    assert (dict(hub_tqdm.progress_bar_states), hf_logging.is_progress_bar_enabled(),
            ds_tqdm.are_progress_bars_disabled()) == before


@pytest.mark.parametrize("how", [("align", "--no-progress"), ("-q", "align"), ("score", "--no-progress")])
def test_commands_quiet_the_bars_while_they_run_and_restore_them(tmp_path, monkeypatch, fake_aligner, how):
    modules = _fake_libraries(monkeypatch, {"_global": True})
    before = _states(modules)
    seen = []

    def build(encoder, engine=None, alignment=None):  # loading the encoder: where transformers' bars would show
        seen.append(_states(modules))
        return fake_aligner

    def load(name, engine=None):
        seen.append(_states(modules))
        return BagOfTrigrams()

    monkeypatch.setattr(corpus_mod, "_build_aligner", build)
    monkeypatch.setattr(aligner.encoders, "load_encoder", load)
    en, ar = folders(tmp_path)
    if "score" in how:
        align_folders(en, ar, tmp_path / "run", aligner=fake_aligner, progress=True)
        args = ["score", tmp_path / "run", "-o", tmp_path / "scored", "--no-e5", "--no-plot", "--no-progress"]
    else:
        args = [*how, en, ar, "-o", tmp_path / "out", "--pair-by", "name"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert seen == [({"_global": False}, True, False)]
    assert _states(modules) == before


def test_progress_shown_leaves_the_switches_alone(tmp_path, monkeypatch, fake_aligner):
    modules = _fake_libraries(monkeypatch, {"_global": True})
    seen = []
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: seen.append(_states(modules))
                        or fake_aligner)
    en, ar = folders(tmp_path)
    assert invoke("align", en, ar, "-o", tmp_path / "out", "--pair-by", "name").exit_code == 0
    assert seen == [({"_global": True}, False, True)]


@pytest.mark.slow  # imports transformers and its dependants (about 5-10 s)
def test_no_progress_silences_a_real_models_loading_bar(tmp_path, monkeypatch, tiny_bert_dir):
    """End to end, with transformers itself: its "Loading weights" bar (shown even off a
    terminal) is on stderr without --no-progress, and gone with it or with -q."""
    monkeypatch.setattr(corpus_mod, "_build_aligner", BUILD_ALIGNER)
    en, ar = folders(tmp_path)
    args = ["align", en, ar, "--pair-by", "name", "--encoder", tiny_bert_dir]
    shown = invoke(*args, "-o", tmp_path / "a")
    assert shown.exit_code == 0, shown.output
    assert "Loading weights" in shown.stderr
    for out, more in (("b", ["--no-progress"]), ("c", [])):
        quiet = invoke(*(["-q"] if not more else []), *args, "-o", tmp_path / out, *more)
        assert quiet.exit_code == 0, quiet.output
        assert "Loading weights" not in quiet.stderr and "%|" not in quiet.stderr
