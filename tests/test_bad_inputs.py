"""The bad-input catalogue (README "Bad input, interrupted runs and reproducibility"):
one test per row, named after it. Every case goes through ``aligner align`` (CliRunner,
with a cheap stand-in encoder) or :func:`align_folders`, next to a good document that
must still be aligned, and checks the message (file, and line where it helps), the
record in run.json and the exit status.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from aligner import Aligner, segment
from aligner.run import folders as corpus_mod
from aligner.io import inputs as inputs_mod
from aligner.cli import main
from aligner.io.files import STATE_DIR, OutputExistsError, OutputWriteError
from aligner.run.folders import DocumentError, align_folders
from aligner.io.inputs import read_document
from aligner.io.inputs import DEFAULT_MAX_BYTES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FLOOD = "2024-05-river-flood"  # the example whose Arabic fits Windows-1256

EN = ("The river flooded the town on Tuesday. About 1,200 people were evacuated from their homes.\n"
      "The last flood of this size was in 1998, the mayor said.\n")
AR = ("غمرت مياه النهر البلدة يوم الثلاثاء. وأعلنت السلطات إجلاء نحو 1200 شخص من منازلهم.\n"
      "وقال رئيس البلدية إن آخر فيضان بهذا الحجم كان في عام 1998.\n")


class BagOfTrigrams:
    """A deterministic stand-in encoder: hashed character trigrams (no model)."""

    name = "test-trigrams"
    settings = {"dim": 64}

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts, *, batch_size=None):
        self.calls += 1
        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for k in range(max(1, len(text) - 2)):
                out[row, sum(map(ord, text[k:k + 3])) % 64] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


@pytest.fixture
def fake_aligner() -> Aligner:
    return Aligner(encoder=BagOfTrigrams())


@pytest.fixture
def cli(monkeypatch, fake_aligner):
    """Run ``aligner align EN AR -o OUT --pair-by name --no-progress [more]`` with the
    stand-in encoder; returns (exit code, output, run.json or None). Only the alignment
    step is under test: ``align`` scores nothing unless asked (--score, a filter option,
    --e5), and each run is checked to have written no report.md or rejected.jsonl."""
    monkeypatch.setattr(corpus_mod, "_build_aligner", lambda encoder, engine=None, alignment=None: fake_aligner)

    def run(en: Path, ar: Path, out: Path, *more: str):
        result = CliRunner().invoke(main, ["align", str(en), str(ar), "-o", str(out), "--pair-by", "name",
                                           "--no-progress", *more])
        report = json.loads((out / "run.json").read_text(encoding="utf-8")) if (out / "run.json").exists() else None
        assert not (out / "report.md").exists() and not (out / "rejected.jsonl").exists(), "align scored unasked"
        return result.exit_code, result.output, report

    return run


def folders(tmp_path: Path, en: dict[str, str | bytes], ar: dict[str, str | bytes], *,
            good: bool = True) -> tuple[Path, Path]:
    """EN and AR folders with these files, plus (``good``) a good pair ``good.txt``."""
    if good:
        en = {"good.txt": EN, **en}
        ar = {"good.txt": AR, **ar}
    for side, files in (("en", en), ("ar", ar)):
        folder = tmp_path / side
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return tmp_path / "en", tmp_path / "ar"


def corpus_lines(out: Path, doc_id: str | None = None) -> list[dict]:
    records = [json.loads(line) for line in (out / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    return [r for r in records if doc_id is None or r["doc_id"] == doc_id]


def check_refused(cli, tmp_path, en_files, ar_files, message: str, path_side: str = "en", doc: str = "bad"):
    """The bad pair fails with ``message`` (a regex, after the file's path); the good
    pair is still aligned; exit status 1."""
    en, ar = folders(tmp_path, en_files, ar_files)
    code, output, report = cli(en, ar, tmp_path / "out")
    path = (en if path_side == "en" else ar) / f"{doc}.txt"
    pattern = f"^{re.escape(str(path))}: {message}"
    assert code == 1, output
    failed = {f["doc_id"]: f["error"] for f in report["failed"]}
    assert re.search(pattern, failed[doc]), failed[doc]
    assert re.search(re.escape(f"  {doc}: {path}: "), output)
    assert [d["doc_id"] for d in report["documents"]] == ["good"]
    assert corpus_lines(tmp_path / "out", "good") and not corpus_lines(tmp_path / "out", doc)
    assert not (tmp_path / "out" / "beads" / f"{doc}.align").exists()
    return report, output


# ----------------------------------------------------------------------------- empty


def test_empty_file(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": b""}, {"bad.txt": AR}, "empty file$")


def test_empty_file_bom_only(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": AR}, {"bad.txt": b"\xef\xbb\xbf"}, "empty file$", path_side="ar")


def test_whitespace_only(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": " \r\n\t\n\u200f\u200b\n"}, {"bad.txt": AR},
                  re.escape("no text (only whitespace)") + "$")


# ----------------------------------------------------------------------------- encodings and line ends


def reference(tmp_path: Path, fake_aligner, en: str = EN, ar: str = AR) -> Path:
    """A run over the same texts as plain UTF-8 with LF line ends, for comparison."""
    ref_en, ref_ar = folders(tmp_path / "ref", {"bad.txt": en}, {"bad.txt": ar})
    align_folders(ref_en, ref_ar, tmp_path / "ref" / "out", aligner=fake_aligner, progress=False)
    return tmp_path / "ref" / "out"


def same_as_reference(out: Path, ref: Path, doc: str = "bad") -> None:
    assert corpus_lines(out, doc) == corpus_lines(ref, doc)
    assert (out / "beads" / f"{doc}.align").read_bytes() == (ref / "beads" / f"{doc}.align").read_bytes()


def test_utf8_with_bom(cli, tmp_path, fake_aligner):
    en, ar = folders(tmp_path, {"bad.txt": b"\xef\xbb\xbf" + EN.encode()}, {"bad.txt": b"\xef\xbb\xbf" + AR.encode()})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    doc = next(d for d in report["documents"] if d["doc_id"] == "bad")
    assert doc["encoding"] == {"en": "utf-8-sig", "ar": "utf-8-sig"} and doc["warnings"] == []
    same_as_reference(tmp_path / "out", reference(tmp_path, fake_aligner))
    assert not corpus_lines(tmp_path / "out", "bad")[0]["en"].startswith("\ufeff")


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_crlf_and_cr_line_ends(cli, tmp_path, fake_aligner, newline):
    en, ar = folders(tmp_path, {"bad.txt": EN.replace("\n", newline)}, {"bad.txt": AR.replace("\n", newline)})
    code, output, _ = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    same_as_reference(tmp_path / "out", reference(tmp_path, fake_aligner))
    assert [s.line for s in segment(EN.replace("\n", newline), "en")] == [s.line for s in segment(EN, "en")]


@pytest.mark.parametrize("codec, bom, name", [
    ("utf-16-le", b"\xff\xfe", "utf-16-le"), ("utf-16-be", b"\xfe\xff", "utf-16-be"),
    ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32-le")])
def test_utf16_with_bom(cli, tmp_path, fake_aligner, codec, bom, name):
    en, ar = folders(tmp_path, {"bad.txt": bom + EN.encode(codec)}, {"bad.txt": bom + AR.encode(codec)})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    doc = next(d for d in report["documents"] if d["doc_id"] == "bad")
    assert doc["encoding"] == {"en": name, "ar": name} and doc["warnings"] == []
    same_as_reference(tmp_path / "out", reference(tmp_path, fake_aligner))


def test_utf16_without_bom_is_read_with_a_warning(cli, tmp_path, fake_aligner):
    en, ar = folders(tmp_path, {"bad.txt": EN.encode("utf-16-le")}, {"bad.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    doc = next(d for d in report["documents"] if d["doc_id"] == "bad")
    assert doc["encoding"]["en"] == "utf-16-le"
    assert doc["warnings"] == [f"{en / 'bad.txt'}: read as UTF-16-LE without a byte-order mark (NUL bytes); "
                               f"save it as UTF-8 to be sure"]
    assert "Warnings (1):" in output and doc["warnings"][0] in output
    same_as_reference(tmp_path / "out", reference(tmp_path, fake_aligner))


def test_utf16_with_bom_but_broken(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": b"\xff\xfe" + "Text.".encode("utf-16-le") + b"\x00\xd8"},
                  {"bad.txt": AR}, re.escape("not valid UTF-16 (byte 12)") + "$")


def test_windows_1256(cli, tmp_path, fake_aligner):
    """Arabic saved as Windows-1256: decoded (charset-normalizer), recorded as such in
    run.json with a warning, and aligned exactly as the UTF-8 text."""
    en_text = (EXAMPLES / "en" / f"{FLOOD}.txt").read_text(encoding="utf-8")
    ar_text = (EXAMPLES / "ar" / f"{FLOOD}.txt").read_text(encoding="utf-8")
    en, ar = folders(tmp_path, {"bad.txt": en_text}, {"bad.txt": ar_text.encode("cp1256")})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    doc = next(d for d in report["documents"] if d["doc_id"] == "bad")
    assert doc["encoding"] == {"en": "utf-8", "ar": "windows-1256"}
    warning = (f"{ar / 'bad.txt'}: not UTF-8; read as windows-1256 (detected by charset-normalizer, check the "
               f"text; save it as UTF-8 to be sure)")
    assert doc["warnings"] == [warning] and warning in output
    assert report["summary"]["warnings"] == 1
    same_as_reference(tmp_path / "out", reference(tmp_path, fake_aligner, en_text, ar_text))


def test_iso_8859_6_and_windows_1252(tmp_path):
    arabic = "غمرت مياه النهر البلدة يوم الثلاثاء، وأعلنت السلطات إجلاء نحو 1200 شخص.\n"
    english = "The mayor\u2019s office said: \u201cWe expect the water to fall by Friday.\u201d\n"
    (tmp_path / "a.txt").write_bytes(arabic.encode("iso8859_6"))
    (tmp_path / "e.txt").write_bytes(english.encode("cp1252"))
    a = inputs_mod.read_input(tmp_path / "a.txt")
    e = inputs_mod.read_input(tmp_path / "e.txt")
    assert (a.text, a.encoding) == (arabic, "iso-8859-6")
    assert (e.text, e.encoding) == (english, "windows-1252")
    assert a.warnings and e.warnings


_CUT = len(AR.splitlines()[0].encode())  # the end of Arabic line 1 (before its line feed)


@pytest.mark.parametrize("data, where", [
    ("Line one is fine.\nLine two has a bad byte \xff here.\n", "byte 42, line 2"),
    (AR.encode()[:_CUT] + b"\xff\xfe" + AR.encode()[_CUT:], f"byte {_CUT}, line 1"),
    (AR.encode()[:_CUT + 1] + b"\xd8" + AR.encode()[_CUT + 1:], f"byte {_CUT + 1}, line 2"),
    (b"One.\r\nTwo.\r\n\x80Three.", "byte 12, line 3"),
], ids=["ascii-stray-byte", "utf8-damaged", "utf8-truncated-character", "crlf-lines"])
def test_invalid_bytes(cli, tmp_path, data, where):
    raw = data.encode("latin-1") if isinstance(data, str) else data
    check_refused(cli, tmp_path, {"bad.txt": EN}, {"bad.txt": raw},
                  re.escape(f"not valid UTF-8 ({where})") + "$", path_side="ar")


def test_invalid_bytes_read_document_api(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok\n\xc3\x28")
    with pytest.raises(DocumentError, match=re.escape(f"{path}: not valid UTF-8 (byte 3, line 2)")):
        read_document(path)


# ----------------------------------------------------------------------------- binary files


def _docx() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _zip() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize("data, kind", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n", "PDF"),
    (_docx(), "DOCX, a Word document"),
    (_zip(), "ZIP archive"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "PNG image"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "JPEG image"),
    (b"GIF89a\x01\x00\x01\x00", "GIF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Microsoft Office document: DOC, XLS or PPT"),
    (b"\x7fELF\x02\x01\x01" + bytes(32), "executable (ELF)"),
], ids=["pdf", "docx", "zip", "png", "jpeg", "gif", "doc", "elf"])
def test_binary_file(cli, tmp_path, data, kind):
    check_refused(cli, tmp_path, {"bad.txt": data}, {"bad.txt": AR},
                  re.escape(f"binary file ({kind}), not plain text: extract its text first") + "$")


def test_binary_file_with_nul_bytes(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": AR}, {"bad.txt": b"abc\x00\x01\x02\x03def\xff"},
                  re.escape("binary file (NUL byte at byte 3), not plain text") + "$", path_side="ar")


def test_rtf_file(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": b"{\\rtf1\\ansi The river flooded.}"}, {"bad.txt": AR},
                  re.escape("RTF document, not plain text: save it as plain text (UTF-8) first") + "$")


# ----------------------------------------------------------------------------- languages


def test_arabic_in_english_folder(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": AR}, {"bad.txt": AR},
                  r"expected English \(Latin script\), but only 0% of its \d+ letters are Latin \(mostly Arabic\): "
                  r"wrong file or folder\? not aligned$")


def test_english_in_arabic_folder(cli, tmp_path):
    check_refused(cli, tmp_path, {"bad.txt": EN}, {"bad.txt": EN},
                  r"expected Arabic \(Arabic script\), but only 0% of its \d+ letters are Arabic \(mostly Latin\): "
                  r"wrong file or folder\? not aligned$", path_side="ar")


def test_swapped_sides(cli, tmp_path):
    _, output = check_refused(cli, tmp_path, {"bad.txt": AR}, {"bad.txt": EN},
                              r"the English file is Arabic text \(100% of its letters\) and the Arabic file .* is in "
                              r"Latin script \(100%\): the two sides look swapped")
    assert "EN_DIR and AR_DIR the wrong way round?" in output


def test_swapped_folders_are_said_once_and_nothing_is_written(cli, tmp_path):
    # `aligner align ar en`: one message for the whole run, exit 2, no output folder.
    en, ar = folders(tmp_path, {f"d{k}.txt": AR for k in range(4)}, {f"d{k}.txt": EN for k in range(4)}, good=False)
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 2, output
    assert output.count("look swapped") == 1
    assert re.search(r"Error: Invalid value for 'EN_DIR' / 'AR_DIR': the two folders look swapped: the English folder "
                     + re.escape(str(en)) + r" holds Arabic text \(100% of the letters of its first documents\) and "
                     r"the Arabic folder " + re.escape(str(ar)) + r" Latin-script text \(100%\); give the English "
                     r"folder first \(EN_DIR AR_DIR\); nothing was aligned", " ".join(output.split())), output
    assert report is None and not (tmp_path / "out").exists()


def test_same_folder_for_both_sides_is_refused(cli, tmp_path):
    en, _ = folders(tmp_path, {}, {})
    code, output, report = cli(en, en, tmp_path / "out")
    assert code == 2, output
    assert "the English and the Arabic folder are the same folder" in " ".join(output.split())
    assert report is None and not (tmp_path / "out").exists()


def test_same_folder_with_a_manifest_is_allowed(cli, tmp_path):
    # A manifest may pair the files of one folder (report.en.txt -> report.ar.txt).
    folder = tmp_path / "both"
    folder.mkdir()
    (folder / "report.en.txt").write_text(EN, encoding="utf-8")
    (folder / "report.ar.txt").write_text(AR, encoding="utf-8")
    manifest = tmp_path / "pairs.tsv"
    manifest.write_text("en_file\tar_file\nreport.en.txt\treport.ar.txt\n", encoding="utf-8")
    code, output, report = cli(folder, folder, tmp_path / "out", "--manifest", str(manifest))
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["report.en"]


def test_pair_command_says_swapped_folders_once(tmp_path):
    en, ar = folders(tmp_path, {"d.txt": AR}, {"d.txt": EN}, good=False)
    result = CliRunner().invoke(main, ["pair", str(en), str(ar), "-o", str(tmp_path / "pairs.tsv"), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.count("look swapped") == 1 and not (tmp_path / "pairs.tsv").exists()


def test_mixed_language_file_warns_and_aligns(cli, tmp_path):
    en, ar = folders(tmp_path, {"bad.txt": EN + AR}, {"bad.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    doc = next(d for d in report["documents"] if d["doc_id"] == "bad")
    assert len(doc["warnings"]) == 1
    assert re.fullmatch(re.escape(f"{en / 'bad.txt'}: mixed languages: only ") + r"\d+% of its letters are Latin "
                        r"\(aligned anyway\)", doc["warnings"][0])
    assert doc["warnings"][0] in output and corpus_lines(tmp_path / "out", "bad")


def test_too_little_text_to_judge_the_language_is_aligned(cli, tmp_path):
    en, ar = folders(tmp_path, {"bad.txt": "2024: 1,200.\n"}, {"bad.txt": "OK 2024.\n"})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output


# ----------------------------------------------------------------------------- pairing


def test_one_side_missing(cli, tmp_path):
    en, ar = folders(tmp_path, {"only-english.txt": EN}, {"only-arabic.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output  # listed, not a failure: nothing that was paired failed
    assert report["unpaired"] == {"en": [str(en / "only-english.txt")], "ar": [str(ar / "only-arabic.txt")]}
    assert "Unpaired files, not aligned (2):" in output
    assert f"English: {en / 'only-english.txt'}" in output and f"Arabic:  {ar / 'only-arabic.txt'}" in output


def test_duplicate_stems_differing_in_case_or_extension(cli, tmp_path):
    en, ar = folders(tmp_path, {"a.txt": EN, "A.TXT": EN, "b.txt": EN, "b.md": "notes"},
                     {"a.txt": AR, "b.txt": AR})
    code, output, report = cli(en, ar, tmp_path / "out")
    assert code == 0, output
    assert [d["doc_id"] for d in report["documents"]] == ["good"]
    problems = "\n".join(report["problems"])
    assert "A.TXT, a.txt differ only in case or extension" in problems
    assert "b.md, b.txt differ only in case or extension" in problems
    assert "Pairing problems" in output


# ----------------------------------------------------------------------------- size


def test_huge_file_refused_unread(cli, tmp_path, monkeypatch):
    """A 100 MB file (sparse: no disk used) is refused from its size, never read."""
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": b""})
    huge = ar / "bad.txt"
    with open(huge, "wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    read = []
    real_read = inputs_mod._read_bytes
    monkeypatch.setattr(inputs_mod, "_read_bytes", lambda path, at_most: read.append(path) or real_read(path, at_most))
    try:
        report, _ = check_refused(
            cli, tmp_path, {}, {},
            re.escape(f"file too large (104,857,600 bytes; the limit is {DEFAULT_MAX_BYTES:,} bytes): not read. "
                      f"Raise it with --max-bytes (0 for no limit) or split the file") + "$", path_side="ar")
        assert huge not in read
    finally:
        huge.unlink()


def test_max_bytes_option(cli, tmp_path):
    en, ar = folders(tmp_path, {"bad.txt": EN * 20}, {"bad.txt": AR}, good=False)
    code, output, report = cli(en, ar, tmp_path / "out", "--max-bytes", "1K")
    size = len(EN.encode()) * 20
    assert code == 1 and f"file too large ({size:,} bytes; the limit is 1,024 bytes)" in output
    code, output, report = cli(en, ar, tmp_path / "out2", "--max-bytes", "0")
    assert code == 0 and report["inputs"]["max_bytes"] is None
    code, output, _ = cli(en, ar, tmp_path / "out3", "--max-bytes", "lots")
    assert code == 2 and "is not a size" in output


def test_a_file_that_grows_past_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("short", encoding="utf-8")
    monkeypatch.setattr(inputs_mod, "_read_bytes", lambda p, at_most: b"x" * at_most)  # grew after stat
    with pytest.raises(DocumentError, match="file too large"):
        inputs_mod.file_bytes(path, 100)


def test_very_long_line_without_punctuation(fake_aligner):
    """A 50,000-character line with no punctuation is one sentence; it aligns."""
    words = [f"word{k}" for k in range(7000)]
    line = " ".join(words)[:50_000]
    arabic = " ".join(f"كلمة{k}" for k in range(8000))[:50_000]
    assert [s.text for s in segment(line, "en")] == [line]
    assert [s.text for s in segment(arabic, "ar")] == [arabic]
    doc = fake_aligner.align(line + "\nShort line.\n", arabic + "\nسطر قصير.\n")
    assert [(b.en, b.ar) for b in doc.beads if not b.is_null][0] == ((0,), (0,))


@pytest.mark.slow
def test_very_long_line_real_encoder(use_encoder):
    """The embedded encoder takes a 50,000-character line whole (no position limit; a
    sentence over the token budget gets a batch of its own) and gives the same
    embedding alone or batched with others."""
    line = " ".join(f"river{k % 97} town{k % 13}" for k in range(4000))[:50_000]
    assert len(line) == 50_000
    alone = use_encoder.encode([line])
    batched = use_encoder.encode(["A short sentence.", line, "Another one."])
    assert alone.shape == (1, 512) and np.isfinite(alone).all()
    assert np.linalg.norm(alone[0]) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(alone[0], batched[1])


class NumberedEncoder:
    """Stand-in encoder for huge documents: a sentence's number picks a fixed random
    vector (the same on both sides), plus a little noise from its text."""

    name = "test-numbered"
    settings = {"dim": 32}

    def __init__(self, n: int):
        rng = np.random.default_rng(0)
        self.base = rng.standard_normal((n, 32)).astype(np.float32)
        self.noise = 0.3 * rng.standard_normal((2, n, 32)).astype(np.float32)  # per side

    def encode(self, texts, *, batch_size=None):
        numbers = np.fromiter((int(re.search(r"\d+", t).group()) for t in texts), np.int64, len(texts))
        sides = np.fromiter((t[:1] >= "\u0600" for t in texts), np.int64, len(texts))
        out = self.base[numbers] + self.noise[sides, numbers]
        return out / np.linalg.norm(out, axis=1, keepdims=True)


_HUGE_DOCUMENT = """
import re, resource, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_bad_inputs import NumberedEncoder
from aligner import Aligner, AlignmentConfig

n = int(sys.argv[1])
english = "\\n".join(f"Sentence {{k}} of the report." for k in range(n))
arabic = "\\n".join(f"الجملة {{k}} من التقرير." for k in range(n))
al = Aligner(encoder=NumberedEncoder(n), config=AlignmentConfig())
al.align("Sentence 1.", "الجملة 1.", presplit=True)  # imports and first-call set-up
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()
doc = al.align(english, arabic, presplit=True)
seconds = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert [i for b in doc.beads for i in b.en] == list(range(n))
assert [j for b in doc.beads for j in b.ar] == list(range(n))
diagonal = sum(1 for b in doc.beads if b.en == b.ar and len(b.en) == 1)
print(peak - before, diagonal, seconds)
"""


def _align_huge(n: int) -> tuple[int, int, float]:
    """Align an ``n``-sentence document in a fresh process: (memory it added in KiB,
    1-1 beads on the diagonal, CPU seconds)."""
    import subprocess
    import sys

    code = _HUGE_DOCUMENT.format(tests=str(Path(__file__).parent))
    proc = subprocess.run([sys.executable, "-c", code, str(n)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    added, diagonal, seconds = proc.stdout.split()
    return int(added), int(diagonal), float(seconds)


@pytest.mark.slow
def test_fifty_thousand_sentences():
    """A document of 50,000 sentences aligns (coarse-to-fine search, default settings)
    in memory that grows linearly: four times the sentences, about four times the memory
    (measured: 59 MiB for 12,500, 219 MiB for 50,000 sentences, about 10 s). Measured in
    fresh processes (peak RSS: tracemalloc would slow the search down twelvefold)."""
    added, diagonal, _ = _align_huge(50_000)
    quarter, _, _ = _align_huge(12_500)
    assert diagonal >= 0.99 * 50_000
    assert added < 700 * 1024, f"{added / 1024:.0f} MiB"
    assert added < 5 * max(quarter, 16 * 1024), (added, quarter)


# ----------------------------------------------------------------------------- unreadable files


@pytest.mark.parametrize("error, reason", [
    (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
    (IsADirectoryError(errno.EISDIR, "Is a directory"), "it is a folder"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory"), "No such file or directory"),
], ids=["permission", "folder", "vanished"])
def test_unreadable_file(cli, tmp_path, monkeypatch, error, reason):
    """Tests run as root (chmod 000 does not stop root), so the read itself fails."""
    real_read = inputs_mod._read_bytes

    def read(path, at_most):
        if path.name == "bad.txt" and path.parent.name == "ar":
            raise error
        return real_read(path, at_most)

    monkeypatch.setattr(inputs_mod, "_read_bytes", read)
    check_refused(cli, tmp_path, {"bad.txt": EN}, {"bad.txt": AR}, re.escape(f"cannot be read ({reason})") + "$",
                  path_side="ar")


# ----------------------------------------------------------------------------- the output folder


def test_output_folder_with_another_corpus_is_refused(cli, tmp_path):
    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / "out"
    assert cli(en, ar, out)[0] == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, output, _ = cli(en, ar, out, "--presplit")
    assert code == 2
    assert "already holds a corpus made with other settings or inputs (inputs.presplit: false -> true" in output
    assert "Use --overwrite (overwrite=True in Python) to replace it, or choose another output folder" in output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_output_folder_with_another_corpus_is_refused_before_loading_the_encoder(tmp_path, fake_aligner,
                                                                                 monkeypatch):
    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / "out"
    align_folders(en, ar, out, aligner=fake_aligner, progress=False)

    def no_encoder(encoder, engine=None, alignment=None):
        raise AssertionError("the encoder must not be loaded for a run that is refused")

    monkeypatch.setattr(corpus_mod, "_build_aligner", no_encoder)
    with pytest.raises(OutputExistsError, match=r"\(inputs\.max_bytes: 5242880 -> 1000; as recorded in "):
        align_folders(en, ar, out, aligner="some-encoder", max_bytes=1000, progress=False)


def test_output_folder_same_settings_resumes(tmp_path, fake_aligner):
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    out = tmp_path / "out"
    first = align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    corpus = (out / "corpus.jsonl").read_bytes()
    calls = fake_aligner.encoder.calls
    again = align_folders(en, ar, out, aligner=Aligner(encoder=fake_aligner.encoder), progress=False)
    assert fake_aligner.encoder.calls == calls  # nothing encoded again
    assert again.timings["resumed_documents"] == 2 and "Resumed: 2 document(s)" in again.summary()
    assert (out / "corpus.jsonl").read_bytes() == corpus
    assert again.to_dict()["documents"] == first.to_dict()["documents"]
    # A changed input file is aligned again; the other is taken from the state.
    (en / "bad.txt").write_text(EN + "A new closing line.\n", encoding="utf-8")
    third = align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    assert third.timings["resumed_documents"] == 1
    assert any("A new closing line." in r["en"] for r in corpus_lines(out, "bad")) or \
        "A new closing line." in (out / "unaligned.jsonl").read_text(encoding="utf-8")


def test_overwrite_replaces_a_corpus_made_otherwise(cli, tmp_path):
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    out = tmp_path / "out"
    assert cli(en, ar, out)[0] == 0
    (en / "bad.txt").unlink()
    code, output, report = cli(en, ar, out, "--presplit", "--overwrite")
    assert code == 0, output
    assert report["inputs"]["presplit"] is True
    assert [d["doc_id"] for d in report["documents"]] == ["good"]
    assert sorted(p.name for p in (out / "beads").iterdir()) == ["good.align"]  # bad.align removed
    assert len(list((out / STATE_DIR / "docs").iterdir())) == 1


def test_foreign_corpus_without_run_json_is_refused(cli, tmp_path):
    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.jsonl").write_text('{"made": "elsewhere"}\n', encoding="utf-8")
    code, output, _ = cli(en, ar, out)
    assert code == 2 and "already holds corpus.jsonl with no readable run.json" in output
    assert (out / "corpus.jsonl").read_text(encoding="utf-8") == '{"made": "elsewhere"}\n'
    assert not (out / STATE_DIR).exists()


def test_two_runs_never_write_one_folder(tmp_path, fake_aligner):
    import fcntl

    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / "out"
    align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    with open(out / STATE_DIR / "lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running `aligner align` holds it
        with pytest.raises(OutputExistsError, match="is being written by another aligner run"):
            align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    align_folders(en, ar, out, aligner=fake_aligner, progress=False)  # released: fine again


def test_left_over_temporary_files_are_removed(tmp_path, fake_aligner):
    """What a run killed in the middle of a write leaves behind (``kill -9`` skips the
    clean-up) is removed by the next run."""
    en, ar = folders(tmp_path, {}, {})
    out = tmp_path / "out"
    align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    leftovers = [out / ".corpus.jsonl.abc123.tmp", out / ".run.json.x.tmp", out / "beads" / ".good.align.q.tmp",
                 out / STATE_DIR / "docs" / ".0123.json.z.tmp"]
    for path in leftovers:
        path.write_text("half")
    (out / "notes.tmp").write_text("not ours")
    align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    assert not [p for p in leftovers if p.exists()] and (out / "notes.tmp").exists()


# ----------------------------------------------------------------------------- disk full


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def without_timings(out: Path) -> dict:
    """Every output file's bytes, run.json parsed without its timings."""
    files = snapshot(out)
    report = json.loads(files.pop("run.json"))
    report.pop("timings")
    return {**files, "run.json": report}


def snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and STATE_DIR not in p.parts}


def no_temporary_files(out: Path) -> bool:
    return not [p for p in out.rglob("*.tmp")]


def test_disk_full_when_moving_files_into_place(cli, tmp_path, monkeypatch, fake_aligner):
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    out = tmp_path / "out"
    assert cli(en, ar, out)[0] == 0
    old = snapshot(out)
    (en / "bad.txt").write_text(EN + "One more line.\n", encoding="utf-8")
    real_replace = os.replace

    def replace(src, dst):  # the parts are saved; the final files cannot be moved
        if Path(dst).name in ("corpus.jsonl", "run.json", "unaligned.jsonl") or str(dst).endswith(".align"):
            _no_space()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code, output, _ = cli(en, ar, out)
    assert code == 1
    assert re.search(r"error: cannot write .*: No space left on device\. The files already in .* were left as "
                     r"they were; .* free some space and run the same command again to resume", output)
    assert snapshot(out) == old and no_temporary_files(out)
    monkeypatch.setattr(os, "replace", real_replace)
    code, output, report = cli(en, ar, out)  # space freed: resumes
    assert code == 0 and report["timings"]["resumed_documents"] == 2
    clean = tmp_path / "clean"
    align_folders(en, ar, clean, aligner=fake_aligner, progress=False)
    assert without_timings(out) == without_timings(clean)


def test_disk_full_in_the_middle_of_a_write(cli, tmp_path, monkeypatch):
    """The disk fills while corpus.jsonl is being written: the old corpus stays whole,
    no half-written file is left, the error names the file, exit status 1."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to tell the temporary files apart")
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    out = tmp_path / "out"
    assert cli(en, ar, out)[0] == 0
    old = snapshot(out)
    (en / "bad.txt").write_text(EN + "One more line.\n", encoding="utf-8")
    real_fdopen = os.fdopen

    class Filling:
        def __init__(self, handle):
            self.handle, self.written = handle, 0

        def write(self, text):
            self.written += len(text)
            if self.written > 100:
                _no_space()
            return self.handle.write(text)

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        return Filling(handle) if ".corpus.jsonl." in os.readlink(f"/proc/self/fd/{fd}") else handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    code, output, _ = cli(en, ar, out)
    assert code == 1 and f"error: cannot write {out / 'corpus.jsonl'}: No space left on device" in output
    assert snapshot(out) == old and no_temporary_files(out)


def test_disk_full_while_saving_a_finished_document(tmp_path, monkeypatch, fake_aligner):
    en, ar = folders(tmp_path, {"bad.txt": EN}, {"bad.txt": AR})
    out = tmp_path / "out"
    real_replace = os.replace
    monkeypatch.setattr(os, "replace",
                        lambda src, dst: _no_space() if Path(dst).parent.name == "docs" else real_replace(src, dst))
    with pytest.raises(OutputWriteError, match=r"cannot write .*\.aligner-state/docs/.*\.json: No space left"):
        align_folders(en, ar, out, aligner=fake_aligner, progress=False)
    assert not (out / "corpus.jsonl").exists() and no_temporary_files(out)
