"""The bad-input catalogue, part two: file names, links and folder entries (issue 18).
One test per catalogue row, named after it; each runs next to a good document that must
still be aligned, with the stand-in encoder of ``test_bad_inputs``.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from aligner.run import folders as corpus_mod
from aligner.pairing import content as docpairing
from aligner.cli import main
from aligner.io.files import MAX_NAME_BYTES, beads_name
from aligner.run.folders import align_folders
from aligner.pairing.content import ContentPair, ContentPairing
from aligner.io.inputs import escape_name
from test_bad_inputs import AR, EN, check_refused, cli, corpus_lines, fake_aligner, folders  # noqa: F401

# macOS (APFS) and Windows refuse names that are not valid Unicode.
needs_bytes_names = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="non-UTF-8 names: Linux only")


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".aligner-state" not in p.parts and p.name != "run.json"}


def make_bytes_file(folder: Path, name: bytes, content: str) -> None:
    with open(os.path.join(os.fsencode(folder), name), "wb") as handle:
        handle.write(content.encode("utf-8"))


def tsv_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


# ----------------------------------------------------------------------------- names not UTF-8


@needs_bytes_names
def test_file_name_not_utf8(cli, tmp_path):
    en, ar = folders(tmp_path, {}, {})
    make_bytes_file(en, b"caf\xe9.txt", EN)
    make_bytes_file(ar, b"caf\xe9.txt", AR)
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["caf\\xe9", "good"]
    record = corpus_lines(tmp_path / "out", "caf\\xe9")[0]
    assert record["en_file"] == record["ar_file"] == "caf\\xe9.txt"
    assert (tmp_path / "out" / "beads" / "caf\\xe9.align").is_file() and corpus_lines(tmp_path / "out", "good")
    assert tsv_rows(tmp_path / "out" / "pairs.tsv")[1][:3] == ["caf\\xe9.txt", "caf\\xe9.txt", "name"]
    before = snapshot(tmp_path / "out")
    code, output, report = cli(en, ar, tmp_path / "out")  # the rerun resumes: the same bytes
    assert code == 0 and snapshot(tmp_path / "out") == before, output


@needs_bytes_names
def test_file_name_not_utf8_in_messages(cli, tmp_path):
    en, ar = folders(tmp_path, {}, {})
    make_bytes_file(en, b"bad\xe9.txt", "")
    make_bytes_file(ar, b"bad\xe9.txt", AR)
    make_bytes_file(en, b"lone\xff.txt", EN)
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 1, output
    assert report["failed"] == [{"doc_id": "bad\\xe9", "en_file": "bad\\xe9.txt", "ar_file": "bad\\xe9.txt",
                                 "error": f"{en}/bad\\xe9.txt: empty file"}]
    assert f"  bad\\xe9: {en}/bad\\xe9.txt: empty file" in output
    assert report["unpaired"]["en"] == [f"{en}/lone\\xff.txt"] and f"English: {en}/lone\\xff.txt" in output
    assert [d["doc_id"] for d in report["documents"]] == ["good"]


@needs_bytes_names
def test_file_name_not_utf8_pair_command(tmp_path):
    en, ar = folders(tmp_path, {}, {})
    make_bytes_file(en, b"caf\xe9.txt", EN)
    make_bytes_file(ar, b"caf\xe9.txt", AR)
    make_bytes_file(ar, b"x\xff.txt", AR)
    out = tmp_path / "pairs.tsv"
    result = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(out), "--pair-by", "name", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert tsv_rows(out) == [["en_file", "ar_file", "method", "score"], ["caf\\xe9.txt", "caf\\xe9.txt", "name", ""],
                             ["good.txt", "good.txt", "name", ""]]
    assert tsv_rows(tmp_path / "pairs.unpaired.tsv")[1] == ["ar", "x\\xff.txt", "", ""]


# ----------------------------------------------------------------------------- long names


def test_long_file_name(cli, tmp_path):
    """A 251-byte stem (the longest a .txt file can have): its beads file would be 257
    bytes; it is cut and ends with a hash of the doc_id, the same on every run."""
    stem = "long-report-" + "x" * 239
    en, ar = folders(tmp_path, {f"{stem}.txt": EN}, {f"{stem}.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["good", stem]
    beads = sorted(p.name for p in (tmp_path / "out" / "beads").iterdir())
    assert beads == [beads_name("good"), beads_name(stem)] and beads_name("good") == "good.align"
    assert re.fullmatch(r"long-report-x+~[0-9a-f]{16}\.align", beads_name(stem))
    assert len(beads_name(stem).encode()) == MAX_NAME_BYTES
    before = snapshot(tmp_path / "out")
    code, output, _ = cli(en, ar, tmp_path / "out")
    assert code == 0 and snapshot(tmp_path / "out") == before, output


def test_long_file_names_paired_by_content(tmp_path, fake_aligner, monkeypatch):
    """A 104-byte English name and an 81-letter Arabic name paired by content: the doc_id
    ``<en>__<ar>`` is 264 bytes; its beads file name fits."""
    en_stem, ar_stem = "e" * 100, "\u0628" * 77
    en, ar = folders(tmp_path, {f"{en_stem}.txt": EN.replace("river", "lake")}, {f"{ar_stem}.txt": AR})
    assert len(f"{en_stem}.txt".encode()) == 104 and len(f"{ar_stem}.txt") == 81

    def by_position(en_paths, ar_paths, aligner, **kwargs):  # content pairing itself is tested elsewhere
        return ContentPairing(pairs=[ContentPair(e, a, 0.9, 0.9, 0.9) for e, a in zip(en_paths, ar_paths)])

    monkeypatch.setattr(docpairing, "pair_by_content", by_position)
    run = align_folders(en, ar, tmp_path / "out", aligner=fake_aligner, pair_by="auto", progress=False)
    doc_id = f"{en_stem}__{ar_stem}"
    assert run.ok and [d.doc_id for d in run.documents] == [doc_id, "good"]
    name = beads_name(doc_id)
    assert len(doc_id.encode()) + len(".align") > 255 and len(name.encode()) <= MAX_NAME_BYTES
    assert (tmp_path / "out" / "beads" / name).is_file()
    # cut names stay distinct: the hash is of the whole doc_id
    assert beads_name(doc_id + "a") != beads_name(doc_id + "b")
    assert beads_name(f"sub/{doc_id}").startswith("sub/") and beads_name(f"{'s' * 300}/x").endswith("/x.align")


# ----------------------------------------------------------------------------- links


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the input folders with a secret in it."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "secret.txt").write_text("root:x:0:0:root:/root:/bin/bash. The secret password is swordfish.\n")
    return folder


def test_link_out_of_the_input_folder(cli, tmp_path, outside):
    en, ar = folders(tmp_path, {}, {"secret.txt": AR})
    (en / "secret.txt").symlink_to(outside / "secret.txt")
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    reason = f"a link to {outside / 'secret.txt'}, outside {en}: not followed (--follow-links reads it)"
    assert report["skipped"] == [{"file": str(en / "secret.txt"), "reason": reason}]
    assert f"Skipped, not read (1):\n  {en / 'secret.txt'}: {reason}" in output
    assert report["inputs"]["follow_links"] is False
    assert [d["doc_id"] for d in report["documents"]] == ["good"]
    assert "swordfish" not in (tmp_path / "out" / "corpus.jsonl").read_text(encoding="utf-8")
    # --follow-links reads it (and says so in run.json)
    code, output, report = cli(en, ar, tmp_path / "out2", "--follow-links")
    assert report["inputs"]["follow_links"] is True and report["skipped"] == []
    assert [d["doc_id"] for d in report["documents"]] == ["good", "secret"]


def test_link_inside_the_input_folder(cli, tmp_path):
    en, ar = folders(tmp_path, {}, {"story.txt": AR})
    (en / "sub").mkdir()
    (en / "sub" / "story.txt").write_text(EN, encoding="utf-8")
    (en / "story.txt").symlink_to(en / "sub" / "story.txt")
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["good", "story"]
    assert report["skipped"] == [{"file": str(en / "sub"), "reason": "a folder: sub-folders are not read"}]


def test_manifest_path_through_a_linked_folder(cli, tmp_path, outside):
    en, ar = folders(tmp_path, {}, {"secret.txt": AR})
    (en / "sub").symlink_to(outside)
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text("en_file\tar_file\ngood.txt\tgood.txt\nsub/secret.txt\tsecret.txt\n", encoding="utf-8")
    code, output, report = cli(en, ar, tmp_path / "out", "--manifest", str(manifest))
    assert code == 2 and report is None, output
    message = (f"{manifest}:3: English file 'sub/secret.txt' leads to {outside / 'secret.txt'}, outside {en}: "
               f"not read (--follow-links reads it)")
    assert message in " ".join(output.split()), output
    code, output, report = cli(en, ar, tmp_path / "out", "--manifest", str(manifest), "--follow-links")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["good", "sub/secret"]


def test_file_replaced_by_a_link_after_pairing(cli, tmp_path, outside, monkeypatch):
    """The file actually read is checked: a document that becomes a link out of the
    folder between pairing and reading is refused."""
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    real_pairing = corpus_mod.pair_by_name

    def then_swap(*args, **kwargs):
        result = real_pairing(*args, **kwargs)
        (en / "bad.txt").unlink()
        (en / "bad.txt").symlink_to(outside / "secret.txt")
        return result

    monkeypatch.setattr(corpus_mod, "pair_by_name", then_swap)
    check_refused(cli, tmp_path, {}, {}, re.escape(f"leads to {outside / 'secret.txt'}, outside the English "
                                                   f"folder {en}: not read (--follow-links reads it)") + "$")


# ----------------------------------------------------------------------------- odd names and entries


def test_tab_and_newline_in_file_names(cli, tmp_path):
    names = ["a\tb.txt", "c\nd.txt"]
    en, ar = folders(tmp_path, {n: EN for n in names} | {"e\rf.txt": EN}, {n: AR for n in names})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["a\\tb", "c\\nd", "good"]
    assert tsv_rows(tmp_path / "out" / "pairs.tsv") == [
        ["en_file", "ar_file", "method", "score"], ["a\\tb.txt", "a\\tb.txt", "name", ""],
        ["c\\nd.txt", "c\\nd.txt", "name", ""], ["good.txt", "good.txt", "name", ""]]
    assert tsv_rows(tmp_path / "out" / "pairs.unpaired.tsv")[1] == ["en", "e\\rf.txt", "", ""]
    assert f"English: {en}/e\\rf.txt\n" in output


def test_terminal_escape_sequences_in_file_names(cli, tmp_path):
    name = "\x1b[2J\x1b]0;pwned\x07report-\u202etxt.exe.txt"
    en, ar = folders(tmp_path, {name: EN}, {})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    shown = "\\x1b[2J\\x1b]0;pwned\\x07report-\\u202etxt.exe.txt"
    assert f"English: {en}/{shown}" in output and report["unpaired"]["en"] == [f"{en}/{shown}"]
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", output)
    assert escape_name(shown) == shown  # escaping twice changes nothing
    assert escape_name("تقرير\u200c.txt") == "تقرير\u200c.txt"  # Arabic and its joiners are kept


def test_skipped_entries_are_noted(cli, tmp_path):
    en, ar = folders(tmp_path, {".hidden.txt": EN}, {"nested.txt": AR})
    (en / "sub").mkdir()
    (en / "sub" / "nested.txt").write_text(EN, encoding="utf-8")
    (en / "x.txt").mkdir()
    (en / "broken.txt").symlink_to(tmp_path / "nowhere.txt")
    (en / "loop.txt").symlink_to(en / "loop.txt")
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output  # notes, not failures
    assert report["skipped"] == [
        {"file": str(en / ".hidden.txt"), "reason": "hidden (its name starts with '.'): not read"},
        {"file": str(en / "broken.txt"), "reason": "a broken link (its target does not exist): not read"},
        {"file": str(en / "loop.txt"), "reason": "a link that loops: not read"},
        {"file": str(en / "sub"), "reason": "a folder: sub-folders are not read"},
        {"file": str(en / "x.txt"), "reason": "a folder: sub-folders are not read"}]
    assert "Skipped, not read (5):" in output and f"  {en / 'x.txt'}: a folder: sub-folders are not read" in output
    assert [d["doc_id"] for d in report["documents"]] == ["good"]
    assert report["unpaired"]["ar"] == [str(ar / "nested.txt")]


def test_nfc_and_nfd_names(cli, tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    en, ar = folders(tmp_path, {f"{nfd}.txt": EN}, {f"{nfc}.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == [nfd, "good"]  # the English file's own name
    assert report["unpaired"] == {"en": [], "ar": []}
    # the two forms in one folder are one name twice: ambiguous, neither is paired
    en2, ar2 = folders(tmp_path / "two", {f"{nfd}.txt": EN, f"{nfc}.txt": EN}, {f"{nfc}.txt": AR})
    code, output, report = cli(en2, ar2, tmp_path / "out2")
    assert code == 0 and [d["doc_id"] for d in report["documents"]] == ["good"], output
    assert report["problems"] == [f"{en2}: {nfd}.txt, {nfc}.txt are one name written two ways (Unicode NFC and "
                                  f"NFD, or an escaped byte); none of them was paired (rename them or use a "
                                  f"manifest)"]


@pytest.mark.parametrize("inside", ["en", "ar"])
def test_pair_output_inside_an_input_folder(tmp_path, inside):
    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / inside / "pairs.txt"
    result = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(out), "--pair-by", "name", "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f"{out} is inside the input folder {tmp_path / inside}: write the pairs elsewhere" in \
        " ".join(result.output.split())
    assert sorted(p.name for p in (tmp_path / inside).iterdir()) == ["good.txt"]
    # beside the folders is fine
    result = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(tmp_path / "pairs.txt"), "--pair-by",
                                       "name", "--no-progress"])
    assert result.exit_code == 0, result.output


# ----------------------------------------------------------------------------- content and options


def test_encoded_surrogate(cli, tmp_path):
    """UTF-8 bytes of a surrogate (ED A0 80, CESU-8) in an otherwise ASCII file: damaged
    UTF-8, refused; not three Windows-1252 letters."""
    data = EN.encode() + b"Caf\xed\xa0\x80 owners said the water rose fast.\n"
    check_refused(cli, tmp_path, {"bad.txt": data}, {"bad.txt": AR},
                  re.escape(f"not valid UTF-8 (byte {len(EN.encode()) + 3}, line 3)") + "$")


@pytest.mark.parametrize("value, message", [
    ("inf", "'inf' is not a size"), ("nan", "'nan' is not a size"), ("-inf", "'-inf' is not a size"),
    ("0.4", "'0.4' is not a whole number of bytes"), ("0.0001K", "'0.0001K' is not a whole number of bytes"),
])
def test_max_bytes_inf_and_fractions(cli, tmp_path, value, message):
    en, ar = folders(tmp_path, {}, {})
    code, output, report = cli(en, ar, tmp_path / "out", "--max-bytes", value)
    assert code == 2 and message in output and report is None, output
    code, output, report = cli(en, ar, tmp_path / "out", "--max-bytes", "1.5K")
    assert code == 0 and report["inputs"]["max_bytes"] == 1536, output
