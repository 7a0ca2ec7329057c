"""Tests for aligner.pairing.names: pairing two folders by file name or by a manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

from aligner.pairing.names import DocumentPair, ManifestError, PairingError, PairingResult, pair_by_name


def make(folder: Path, *names: str, text: str = "x") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "en", tmp_path / "ar"


def manifest_file(tmp_path: Path, *lines: str, name: str = "manifest.tsv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------ by name


def test_pairs_by_stem_sorted_with_unpaired(dirs):
    en, ar = dirs
    make(en, "c.txt", "a.txt", "b.txt", "only-en.txt")
    make(ar, "b.txt", "a.txt", "c.txt", "only-ar.txt")
    result = pair_by_name(en, ar)
    assert [p.doc_id for p in result.pairs] == ["a", "b", "c"]
    assert result.pairs[0] == DocumentPair("a", en / "a.txt", ar / "a.txt", "name")
    assert all(p.method == "name" for p in result.pairs)
    assert result.unpaired_en == [en / "only-en.txt"]
    assert result.unpaired_ar == [ar / "only-ar.txt"]
    assert result.problems == []


def test_only_txt_files_are_documents_others_ignored(dirs):
    en, ar = dirs
    make(en, "a.txt", "b.md", "notes.json", "C.TXT", ".hidden.txt")
    make(ar, "a.txt", "b.md", "C.TXT")
    (en / "sub").mkdir()
    make(en / "sub", "a.txt")
    result = pair_by_name(en, ar)
    assert [p.doc_id for p in result.pairs] == ["C", "a"]
    assert result.ignored_en == [en / "b.md", en / "notes.json"]
    assert result.ignored_ar == [ar / "b.md"]
    assert result.unpaired_en == result.unpaired_ar == []
    assert result.problems == []


@pytest.mark.parametrize("other", ["A.TXT", "A.txt", "a.TXT", "a.md"])
def test_names_differing_only_in_case_or_extension_are_reported_not_paired(dirs, other):
    en, ar = dirs
    make(en, "a.txt", other, "b.txt")
    make(ar, "a.txt", "b.txt")
    result = pair_by_name(en, ar)
    assert [p.doc_id for p in result.pairs] == ["b"]
    assert len(result.problems) == 1
    assert "a.txt" in result.problems[0] and other in result.problems[0]
    assert str(en) in result.problems[0]
    assert ar / "a.txt" in result.unpaired_ar
    assert en / "a.txt" in result.unpaired_en


def test_case_mismatch_across_folders_is_reported(dirs):
    en, ar = dirs
    make(en, "Report.txt")
    make(ar, "report.txt")
    result = pair_by_name(en, ar)
    assert result.pairs == []
    assert result.unpaired_en == [en / "Report.txt"] and result.unpaired_ar == [ar / "report.txt"]
    assert len(result.problems) == 1
    assert "Report.txt" in result.problems[0] and "report.txt" in result.problems[0]
    assert "case" in result.problems[0]


def test_partner_with_other_extension_is_reported(dirs):
    en, ar = dirs
    make(en, "a.txt")
    make(ar, "a.md")
    result = pair_by_name(en, ar)
    assert result.pairs == []
    assert result.unpaired_en == [en / "a.txt"]
    assert len(result.problems) == 1 and str(ar / "a.md") in result.problems[0]
    assert ".txt" in result.problems[0]


def test_missing_or_file_folder_is_an_error_naming_it(dirs, tmp_path):
    en, ar = dirs
    make(ar, "a.txt")
    with pytest.raises(PairingError, match="English folder not found: .*en"):
        pair_by_name(en, ar)
    make(en, "a.txt")
    with pytest.raises(PairingError, match="Arabic folder is not a folder: .*a.txt"):
        pair_by_name(en, ar / "a.txt")


def test_result_is_deterministic(dirs):
    en, ar = dirs
    make(en, *[f"{k:02d}.txt" for k in range(30, 0, -1)], "x.txt", "X.TXT")
    make(ar, *[f"{k:02d}.txt" for k in range(1, 31)], "y.txt")
    first, second = pair_by_name(en, ar), pair_by_name(en, ar)
    assert first == second
    assert [p.doc_id for p in first.pairs] == sorted(p.doc_id for p in first.pairs)
    assert first.unpaired_en == sorted(first.unpaired_en)


def test_empty_folders(dirs):
    en, ar = dirs
    en.mkdir()
    ar.mkdir()
    assert pair_by_name(en, ar) == PairingResult()


# ------------------------------------------------------------------ by manifest


def test_manifest_pairs_listed_files(dirs, tmp_path):
    en, ar = dirs
    make(en, "report-1.txt", "report-2.md", "extra.txt")
    make(ar, "source-a.txt", "source-b.txt", "left.txt")
    mf = manifest_file(tmp_path, "en_file\tar_file", "# comment", "report-2.md\tsource-b.txt", "",
                       "report-1.txt\tsource-a.txt")
    result = pair_by_name(en, ar, manifest=mf)
    assert result.pairs == [DocumentPair("report-1", en / "report-1.txt", ar / "source-a.txt", "manifest"),
                            DocumentPair("report-2.md", en / "report-2.md", ar / "source-b.txt", "manifest")]
    assert result.unpaired_en == [en / "extra.txt"]
    assert result.unpaired_ar == [ar / "left.txt"]
    assert result.ignored_en == []  # report-2.md is used by the manifest


def test_manifest_with_bom_crlf_and_subfolders(dirs, tmp_path):
    en, ar = dirs
    make(en, "2024/a.txt")
    make(ar, "b.txt")
    mf = tmp_path / "m.tsv"
    mf.write_bytes(b"\xef\xbb\xbfen_file\tar_file\r\n2024/a.txt\tb.txt\r\n")
    result = pair_by_name(en, ar, manifest=mf)
    assert [(p.doc_id, p.en_path, p.ar_path) for p in result.pairs] == [("2024/a", en / "2024" / "a.txt", ar / "b.txt")]


def test_manifest_missing_file_names_manifest_and_line(dirs, tmp_path):
    en, ar = dirs
    make(en, "a.txt", "b.txt")
    make(ar, "a.txt")
    mf = manifest_file(tmp_path, "en_file\tar_file", "a.txt\ta.txt", "b.txt\tnope.txt")
    with pytest.raises(ManifestError) as info:
        pair_by_name(en, ar, manifest=mf)
    assert str(info.value) == f"{mf}:3: Arabic file not found: {ar / 'nope.txt'}"


def test_manifest_reports_every_bad_line(dirs, tmp_path):
    en, ar = dirs
    make(en, "a.txt", "b.txt")
    make(ar, "a.txt", "b.txt")
    mf = manifest_file(tmp_path, "en_file\tar_file",
                       "a.txt",                 # line 2: one field
                       "a.txt\ta.txt\textra",   # line 3: three fields
                       "missing.txt\tb.txt",    # line 4: missing English file
                       "a.txt\ta.txt",          # line 5: fine
                       "a.txt\tb.txt",          # line 6: English file again
                       "../a.txt\tb.txt")       # line 7: outside the folder
    with pytest.raises(ManifestError) as info:
        pair_by_name(en, ar, manifest=mf)
    lines = str(info.value).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{mf}:{n}" for n in (2, 3, 4, 6, 7)]
    assert "missing.txt" in lines[2]
    assert "already used on line 5" in lines[3]


@pytest.mark.parametrize("header", ["en\tar", "ar_file\ten_file", "a.txt\ta.txt"])
def test_manifest_needs_its_header(dirs, tmp_path, header):
    en, ar = dirs
    make(en, "a.txt")
    make(ar, "a.txt")
    mf = manifest_file(tmp_path, header, "a.txt\ta.txt")
    with pytest.raises(ManifestError, match=f"^{mf}:1: expected the header"):
        pair_by_name(en, ar, manifest=mf)


def test_manifest_missing_or_empty(dirs, tmp_path):
    en, ar = dirs
    make(en, "a.txt")
    make(ar, "a.txt")
    with pytest.raises(ManifestError, match="manifest not found"):
        pair_by_name(en, ar, manifest=tmp_path / "none.tsv")
    with pytest.raises(ManifestError, match="empty manifest"):
        pair_by_name(en, ar, manifest=manifest_file(tmp_path, ""))


def test_merged_adds_pairs_for_unpaired_files(dirs):
    en, ar = dirs
    make(en, "a.txt", "x.txt")
    make(ar, "a.txt", "y.txt")
    by_name = pair_by_name(en, ar)
    extra = PairingResult(pairs=[DocumentPair("x", en / "x.txt", ar / "y.txt", "content", 0.9)])
    merged = by_name.merged(extra)
    assert [(p.doc_id, p.method) for p in merged.pairs] == [("a", "name"), ("x", "content")]
    assert merged.unpaired_en == merged.unpaired_ar == []
