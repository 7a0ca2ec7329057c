"""Publishing to the Hugging Face Hub (aligner.outputs.hub, Corpus.push_to_hub, `aligner publish`),
tested against a local stand-in for the Hub API on 127.0.0.1 (no network).

The stand-in implements what huggingface_hub's upload path calls (read from its source):
``POST /api/repos/create``, ``POST /api/validate-yaml`` (README.md metadata),
``POST /api/datasets/{repo}/branch/{name}`` (a branch for ``--revision``),
``GET /api/datasets/{repo}/tree/{rev}`` (listing, to delete stale data files),
``HEAD``/``GET /datasets/{repo}/resolve/{rev}/{file}`` (``hf_hub_download`` of the card),
``POST /api/datasets/{repo}/preupload/{rev}`` (it answers "lfs" for ``.parquet`` and
"regular" for the rest, as the Hub's .gitattributes do), the Git LFS batch API
``POST /datasets/{repo}.git/info/lfs/objects/batch`` with a "basic" PUT upload to a
presigned-style URL, and ``POST /api/datasets/{repo}/commit/{rev}`` (NDJSON: header,
base64 ``file`` lines, ``lfsFile`` lines by sha256, ``deletedFile`` lines), applied all
or nothing, to the branch ``rev`` or, with ``?create_pr=1``, to a new ``refs/pr/N`` made from
it. Every request is recorded so the tests can check where the token went.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner

from aligner import Corpus, CorpusRecord
from aligner.cli import main
from aligner.outputs.formats import write_jsonl
from aligner.outputs.hub import HubError, push_folder, redact

TOKEN = "hf_StandInToken0123456789abcdefSECRET"


# ----------------------------------------------------------------------------- the stand-in


class FakeHub:
    """A tiny in-memory Hub. ``status_for``: ``{(method, path prefix): status}`` answers
    matching requests with that status (after recording them)."""

    def __init__(self, token: str = TOKEN, lfs: bool = True):
        self.token = token
        self.lfs_mode = lfs  # False: every file is "regular" (base64 in the commit body)
        self.requests: list[dict] = []
        self.repos: dict[str, dict] = {}
        self.lfs: dict[str, bytes] = {}
        self.commits: list[dict] = []
        self.status_for: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self):
                body = self._body()
                record = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                          "body": body}
                with hub.lock:
                    hub.requests.append(record)
                    status, payload, headers = hub.answer(record)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":  # a HEAD answer has the headers of the GET, and no body
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits for the next poll (0.5 s by default, in
        # every test's teardown).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    # -------------------------------------------------------------- routing

    def answer(self, req: dict) -> tuple[int, object, dict]:
        path = urlsplit(req["path"]).path
        for (method, prefix), status in self.status_for.items():
            if req["method"] == method and path.startswith(prefix):
                return status, {"error": f"stand-in refuses with {status}"}, {}
        if path.startswith("/lfs-upload/"):  # presigned-style URL: no token expected
            oid = path.rsplit("/", 1)[1]
            if hashlib.sha256(req["body"]).hexdigest() != oid:
                return 400, {"error": "content does not match its oid"}, {}
            self.lfs[oid] = req["body"]
            return 200, {}, {}
        if req["headers"].get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "Invalid credentials in Authorization header"}, {}
        if req["method"] == "POST" and path == "/api/repos/create":
            return self._create(json.loads(req["body"]))
        if req["method"] == "POST" and path == "/api/validate-yaml":
            content = json.loads(req["body"])["content"]
            ok = content.startswith("---\n") and "\n---\n" in content[4:]
            return (200, {"errors": [], "warnings": []}, {}) if ok else \
                (400, {"errors": [{"message": "no metadata"}]}, {})
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if len(parts) >= 6 and parts[0] == "datasets" and parts[3] == "resolve" and req["method"] in ("GET", "HEAD"):
            repo = f"{parts[1]}/{parts[2]}"
            files = self.files(repo, parts[4])
            name = "/".join(parts[5:])
            if files is None or name not in files:
                return 404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound"}
            data = files[name]
            return 200, data, {"Content-Type": "application/octet-stream", "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                               "X-Repo-Commit": hashlib.sha1(repr(sorted(files.items())).encode()).hexdigest()}
        if len(parts) >= 5 and parts[0] == "api" and parts[1] == "datasets":
            repo = f"{parts[2]}/{parts[3]}"
            if repo not in self.repos:
                return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
            action = parts[4]
            if action == "branch" and req["method"] == "POST" and len(parts) == 6:
                refs = self.repos[repo]["refs"]
                if parts[5] in refs or parts[5] == "main":
                    return 409, {"error": "Reference already exists"}, {}
                start = self.files(repo, (json.loads(req["body"] or b"{}") or {}).get("startingPoint") or "main")
                refs[parts[5]] = dict(start or {})
                return 200, {}, {}
            if action == "tree" and req["method"] == "GET":
                files = self.files(repo, parts[5] if len(parts) > 5 else "main")
                if files is None:
                    return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
                return 200, [{"type": "file", "path": p, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                             for p, b in sorted(files.items())], {}
            if action == "preupload" and req["method"] == "POST":
                files = json.loads(req["body"])["files"]
                return 200, {"files": [{"path": f["path"], "shouldIgnore": False, "oid": None,
                                        "uploadMode": "lfs" if self.lfs_mode and f["path"].endswith(".parquet")
                                        else "regular"}
                                       for f in files]}, {}
            if action == "commit" and req["method"] == "POST":
                return self._commit(repo, req["body"], parts[5], "create_pr=1" in urlsplit(req["path"]).query)
        if req["method"] == "POST" and path.startswith("/datasets/") and path.endswith(".git/info/lfs/objects/batch"):
            batch = json.loads(req["body"])
            return 200, {"transfer": "basic", "objects": [
                {"oid": o["oid"], "size": o["size"], "authenticated": True,
                 "actions": {"upload": {"href": f"{self.url}/lfs-upload/{o['oid']}", "header": {}}}}
                for o in batch["objects"]]}, {}
        return 404, {"error": f"stand-in has no route for {req['method']} {path}"}, {}

    def _create(self, payload: dict) -> tuple[int, object, dict]:
        repo = f"{payload['organization']}/{payload['name']}"
        if repo in self.repos:
            return 409, {"error": "You already created this dataset repo", "url": f"{self.url}/datasets/{repo}"}, {}
        self.repos[repo] = {"type": payload.get("type"), "visibility": payload.get("visibility"),
                            "files": {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"},
                            "refs": {}}  # other branches and refs/pr/N: {name: files}; "files" is main
        return 200, {"url": f"{self.url}/datasets/{repo}", "name": repo}, {}

    def files(self, repo: str, rev: str | None) -> dict | None:
        """The files of ``repo`` at branch or ref ``rev`` (``None`` when it has no such ref)."""
        if repo not in self.repos:
            return None
        return self.repos[repo]["files"] if rev in (None, "main") else self.repos[repo]["refs"].get(rev)

    def _commit(self, repo: str, body: bytes, rev: str, create_pr: bool) -> tuple[int, object, dict]:
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0]["key"] != "header":
            return 400, {"error": "no header"}, {}
        base = self.files(repo, rev)
        if base is None:
            return 404, {"error": f"Invalid rev id: {rev}"}, {"X-Error-Code": "RevisionNotFound"}
        files = dict(base)  # applied all or nothing
        for line in lines[1:]:
            value = line["value"]
            if line["key"] == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif line["key"] == "lfsFile":
                if value["oid"] not in self.lfs:
                    return 400, {"error": f"LFS object {value['oid']} was not uploaded"}, {}
                files[value["path"]] = self.lfs[value["oid"]]
            elif line["key"] == "deletedFile":
                if value["path"] not in files:
                    return 404, {"error": "A file with this name doesn't exist"}, {}
                del files[value["path"]]
            else:
                return 400, {"error": f"unknown key {line['key']}"}, {}
        answer: dict = {}
        if create_pr:
            number = 1 + sum(ref.startswith("refs/pr/") for ref in self.repos[repo]["refs"])
            rev = f"refs/pr/{number}"
            answer["pullRequestUrl"] = f"{self.url}/datasets/{repo}/discussions/{number}"
        if rev == "main":
            self.repos[repo]["files"] = files
        else:
            self.repos[repo]["refs"][rev] = files
        oid = hashlib.sha1(body).hexdigest()
        self.commits.append({"repo": repo, "header": lines[0]["value"], "lines": lines[1:], "oid": oid, "rev": rev})
        return 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{oid}", "commitOid": oid,
                     "success": True, **answer}, {}

    # -------------------------------------------------------------- helpers

    UPLOAD_API = ("/api/repos/create", "/api/validate-yaml", "/tree/", "/preupload/", "/commit/",
                  "/info/lfs/objects/batch")

    def calls(self, method: str, path_part: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    def assert_token_only_in_authorization_header(self) -> None:
        assert self.requests, "no request reached the stand-in"
        for req in self.requests:
            assert TOKEN not in unquote(req["path"]), req["path"]
            assert TOKEN.encode() not in req["body"], req["path"]
            for key, value in req["headers"].items():
                if key.lower() != "authorization":
                    assert TOKEN not in value, (req["path"], key)
            auth = req["headers"].get("authorization")
            if req["path"].startswith("/lfs-upload/"):
                assert auth is None  # the upload URL is presigned: the token is not sent there
            elif any(part in req["path"] for part in self.UPLOAD_API):
                assert auth == f"Bearer {TOKEN}", req["path"]
            else:  # huggingface_hub's own side requests (e.g. /api/agent-harnesses)
                assert auth in (None, f"Bearer {TOKEN}"), req["path"]
        for part in ("/api/repos/create", "/preupload/", "/commit/"):
            assert any(part in req["path"] for req in self.requests), part


@pytest.fixture
def hub_env(monkeypatch, tmp_path):
    """A clean Hugging Face environment: HF_TOKEN = TOKEN, no login cache, online, and
    Xet storage off (HF_HUB_DISABLE_XET, a documented huggingface_hub switch), so LFS
    files take the Git LFS path the stand-in implements rather than hf_xet's own protocol."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)

    for name in ("HF_HUB_OFFLINE", "HF_OIDC_RESOURCE", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_DISABLE_IMPLICIT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    monkeypatch.setattr(hf_constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-login" / "stored_tokens"))
    # huggingface_hub caches a registry it fetches from the endpoint: keep it out of ~/.cache.
    monkeypatch.setattr(hf_constants, "AGENT_HARNESSES_PATH", str(tmp_path / "no-login" / "harnesses.json"),
                        raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return monkeypatch


def _point_at(monkeypatch, url: str) -> None:
    """huggingface_hub's endpoint as HF_ENDPOINT=url at import would have set it: the
    endpoint and the download URL template (``hf_hub_download`` builds URLs from it)."""
    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setattr(hf_constants, "ENDPOINT", url)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")


@pytest.fixture
def fake_hub(hub_env):
    """The stand-in, running, with huggingface_hub pointed at it (env and constants)."""
    import huggingface_hub.constants as hf_constants

    hub = FakeHub()
    hub.thread.start()
    _point_at(hub_env, hub.url)
    yield hub
    hub.server.shutdown()
    hub.server.server_close()


# ----------------------------------------------------------------------------- a corpus


def _records() -> list[CorpusRecord]:
    out = []
    for d in range(12):
        for k in range(3):
            out.append(CorpusRecord(
                doc_id=f"doc-{d:02d}", en_file=f"doc-{d:02d}.txt", ar_file=f"doc-{d:02d}.txt",
                en_idx=(k,), ar_idx=(k,) if k != 1 else (1, 2), en=f"Sentence {k} of report {d} <&> \"quoted\".",
                ar=f"\u200fالجملة {k} من التقرير {d} 😀", bead_type="1-1" if k != 1 else "1-2",
                score=round(0.3 + 0.05 * k + 0.01 * d, 4)))
    return out


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run folder as `aligner align` leaves it: corpus.jsonl and run.json."""
    folder = tmp_path / "run"
    folder.mkdir()
    write_jsonl(_records(), folder / "corpus.jsonl")
    run = {"aligner_version": "0.1.0", "encoder": "use-multilingual-v3", "encoder_settings": {"tokenizer": "sp"},
           "alignment": {"threshold": -0.25}, "inputs": {"presplit": False, "pairing": "name"},
           "summary": {"documents": 12, "aligned": 12, "failed": 0, "pairs": 36, "unaligned_en": 2,
                       "unaligned_ar": 3, "unpaired_en": 0, "unpaired_ar": 0},
           "documents": [], "timings": {"total_s": 1.0}}
    (folder / "run.json").write_text(json.dumps(run), encoding="utf-8")
    return folder


def _capture_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("huggingface_hub", "httpx", "httpx2", "httpcore", "httpcore2", "aligner"):
        logging.getLogger(name).setLevel(logging.DEBUG)


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ----------------------------------------------------------------------------- success


def test_publish_creates_a_dataset_repo_and_uploads_everything_in_one_commit(fake_hub, run_dir, tmp_path,
                                                                             caplog, capfd):
    _capture_logs(caplog)
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en", "--private",
                     "--split", "0.5,0.25,0.25", "--license", "cc-by-4.0")
    out = result.stdout + result.stderr
    assert result.exit_code == 0, out

    creates = fake_hub.calls("POST", "/api/repos/create")
    assert len(creates) == 1
    payload = json.loads(creates[0]["body"])
    assert payload["type"] == "dataset"
    assert (payload["organization"], payload["name"]) == ("someone", "ar-en")
    assert payload.get("visibility") == "private" or payload.get("private") is True
    assert fake_hub.repos["someone/ar-en"]["type"] == "dataset"

    assert len(fake_hub.calls("POST", "/api/datasets/someone/ar-en/preupload/main")) == 1
    commits = fake_hub.calls("POST", "/api/datasets/someone/ar-en/commit/main")
    assert len(commits) == 1 and len(fake_hub.commits) == 1
    assert commits[0]["headers"]["content-type"] == "application/x-ndjson"
    assert fake_hub.lfs, "the Parquet files went through the LFS path"

    # The files that arrived are exactly the dataset folder the library writes locally.
    expected = Corpus.from_dir(run_dir).write_hf(tmp_path / "expected", split=(0.5, 0.25, 0.25),
                                                 license="cc-by-4.0", repo_id="someone/ar-en")
    local = {p.relative_to(expected).as_posix(): p.read_bytes() for p in expected.rglob("*") if p.is_file()}
    remote = {p: b for p, b in fake_hub.repos["someone/ar-en"]["files"].items() if p != ".gitattributes"}
    assert remote == local
    assert any(p.startswith("data/train-") and p.endswith(".parquet") for p in remote)
    card = remote["README.md"].decode()
    assert card.startswith("---\n") and "license: cc-by-4.0" in card and "task_categories:" in card
    assert 'load_dataset("someone/ar-en")' in card

    # The commit URL is printed, after success.
    url = fake_hub.commits[0]["oid"]
    assert f"Published: {fake_hub.url}/datasets/someone/ar-en/commit/{url}" in result.stdout

    fake_hub.assert_token_only_in_authorization_header()
    captured = capfd.readouterr()
    for text in (out, caplog.text, captured.out, captured.err):
        assert TOKEN not in text


def test_uploaded_files_load_with_datasets(fake_hub, run_dir, tmp_path):
    import datasets

    url = Corpus.from_dir(run_dir).push_to_hub("someone/loadable")
    assert url.startswith(f"{fake_hub.url}/datasets/someone/loadable/commit/")
    folder = tmp_path / "downloaded"
    for rel, data in fake_hub.repos["someone/loadable"]["files"].items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    ds = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert list(ds) == ["train"]
    assert ds["train"].features["translation"] == datasets.Translation(languages=["ar", "en"])
    assert [row["translation"]["en"] for row in ds["train"]] == [r.en for r in _records()]


def test_push_without_private_leaves_visibility_to_the_hub_and_replaces_stale_data_files(fake_hub, run_dir):
    corpus = Corpus.from_dir(run_dir)
    corpus.push_to_hub("someone/again", split="0.5,0.25,0.25")
    first = set(fake_hub.repos["someone/again"]["files"])
    assert json.loads(fake_hub.calls("POST", "/api/repos/create")[0]["body"]).get("visibility") is None

    # A second push without splits (exist_ok: the 409 is fine) must not leave the old
    # validation/test shards behind, or data/<split>-* would still match them.
    fake_hub.repos["someone/again"]["files"]["notes.txt"] = b"kept: not under data/"
    corpus.filter(min_quality=0.4).push_to_hub("someone/again")
    files = set(fake_hub.repos["someone/again"]["files"])
    assert [p for p in files if p.startswith("data/")] == [_shard(files, "train")]
    assert "notes.txt" in files and ".gitattributes" in files
    assert any(p.startswith("data/validation-") for p in first)
    assert len(fake_hub.commits) == 2
    deleted = [line["value"]["path"] for line in fake_hub.commits[1]["lines"] if line["key"] == "deletedFile"]
    assert deleted and all(p.startswith("data/") for p in deleted)
    card = fake_hub.repos["someone/again"]["files"]["README.md"].decode()
    assert "`score` >= 0.4" in card and "no `quality` value" in card  # says what --min-quality filtered on
    fake_hub.assert_token_only_in_authorization_header()


def test_small_files_as_regular_commit_lines(hub_env, run_dir):
    # A Hub that takes every file as a regular git blob: the Parquet bytes travel base64
    # in the NDJSON commit body, and arrive intact.
    import huggingface_hub.constants as hf_constants

    hub = FakeHub(lfs=False)
    hub.thread.start()
    try:
        _point_at(hub_env, hub.url)
        hub_env.setenv("HF_HUB_DISABLE_XET", "0")
        hub_env.setattr(hf_constants, "HF_HUB_DISABLE_XET", False)
        url = Corpus.from_dir(run_dir).push_to_hub("someone/regular", license="cc0-1.0")
    finally:
        hub.server.shutdown()
        hub.server.server_close()
    assert url.startswith(f"{hub.url}/datasets/someone/regular/commit/")
    assert not hub.lfs and not hub.calls("POST", "/info/lfs/objects/batch")
    keys = [line["key"] for line in hub.commits[0]["lines"]]
    assert keys == ["file", "file"]
    files = hub.repos["someone/regular"]["files"]
    assert files[_shard(files, "train")].startswith(b"PAR1")
    assert b"license: cc0-1.0" in files["README.md"]
    hub.assert_token_only_in_authorization_header()


def test_publish_min_quality_filters_rows(fake_hub, run_dir, tmp_path):
    import pyarrow.parquet as pq

    result = _invoke("publish", str(run_dir), "--repo-id", "someone/filtered", "--min-quality", "0.45")
    assert result.exit_code == 0, result.output
    data = fake_hub.repos["someone/filtered"]["files"][_shard(fake_hub.repos["someone/filtered"]["files"], "train")]
    table = pq.read_table(io.BytesIO(data))
    assert table.num_rows == sum(r.score >= 0.45 for r in _records()) > 0
    assert min(table.column("score").to_pylist()) >= 0.45


# ----------------------------------------------------------------------------- failures


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_a_clear_error_and_exit_1(hub_env, run_dir, caplog, capfd):
    import huggingface_hub.constants as hf_constants

    _capture_logs(caplog)
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    hub_env.setenv("HF_ENDPOINT", endpoint)
    hub_env.setattr(hf_constants, "ENDPOINT", endpoint)
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    assert result.exit_code == 1
    assert "cannot reach the Hugging Face Hub" in result.stderr and endpoint in result.stderr
    assert "Nothing was uploaded" in result.stderr
    assert "Published" not in result.stdout and "Traceback" not in result.output
    captured = capfd.readouterr()
    for text in (result.output, caplog.text, captured.out, captured.err):
        assert TOKEN not in text


def test_unauthorised_is_a_clear_error_without_the_token(fake_hub, run_dir, caplog, capfd):
    _capture_logs(caplog)
    fake_hub.token = "hf_SomeOtherTokenTheHubExpects000"
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    assert result.exit_code == 1
    assert "unauthorised" in result.stderr and "401" in result.stderr
    assert not fake_hub.commits and not fake_hub.calls("POST", "/commit/")
    assert "Published" not in result.stdout
    captured = capfd.readouterr()
    for text in (result.output, caplog.text, captured.out, captured.err):
        assert TOKEN not in text
    # The token still went in the Authorization header only.
    for req in fake_hub.requests:
        assert TOKEN not in req["path"] and TOKEN.encode() not in req["body"]


def test_forbidden_repo_creation(fake_hub, run_dir):
    fake_hub.status_for[("POST", "/api/repos/create")] = 403
    fake_hub.status_for[("GET", "/api/datasets/")] = 403  # create_repo(exist_ok) then checks repo_info
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    assert result.exit_code == 1
    assert "forbidden (HTTP 403) while creating the dataset repository" in result.stderr
    assert "Nothing was uploaded" in result.stderr and not fake_hub.commits


def test_failed_commit_claims_nothing(fake_hub, run_dir):
    fake_hub.status_for[("POST", "/api/datasets/someone/ar-en/commit/")] = 500
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    assert result.exit_code == 1
    assert "HTTP 500 while committing the files" in result.stderr
    assert "no file was committed" in result.stderr
    assert "Published" not in result.stdout
    assert set(fake_hub.repos["someone/ar-en"]["files"]) == {".gitattributes"}


def test_no_token_fails_before_any_request(fake_hub, run_dir):
    fake_hub_env_token = os.environ.pop("HF_TOKEN")
    try:
        result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    finally:
        os.environ["HF_TOKEN"] = fake_hub_env_token
    assert result.exit_code == 1
    assert "no Hugging Face token" in result.stderr and "HF_TOKEN" in result.stderr
    assert fake_hub.requests == []


def test_offline_mode_fails_before_any_request(fake_hub, run_dir):
    import huggingface_hub.constants as hf_constants

    fake_hub_offline = hf_constants.HF_HUB_OFFLINE
    hf_constants.HF_HUB_OFFLINE = True
    try:
        result = _invoke("publish", str(run_dir), "--repo-id", "someone/ar-en")
    finally:
        hf_constants.HF_HUB_OFFLINE = fake_hub_offline
    assert result.exit_code == 1 and "offline mode is on" in result.stderr
    assert fake_hub.requests == []


def test_bad_repo_id_and_empty_filter_result(fake_hub, run_dir):
    result = _invoke("publish", str(run_dir), "--repo-id", "no-slash")
    assert result.exit_code == 1 and "expected 'user/name'" in result.stderr
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/x", "--min-quality", "0.99")
    assert result.exit_code == 1 and "no sentence pair to publish" in result.stderr
    assert fake_hub.requests == []


def test_hub_error_messages_are_redacted(fake_hub, tmp_path):
    # Even a server that echoes the token back in its error cannot make us print it.
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "README.md").write_text("---\nlicense: other\n---\n", encoding="utf-8")
    fake_hub.status_for[("POST", "/api/repos/create")] = 500
    original = fake_hub.answer

    def echo_token(req):
        status, payload, headers = original(req)
        if status == 500:
            payload = {"error": f"bad token {req['headers'].get('Authorization')}"}
        return status, payload, headers

    fake_hub.answer = echo_token
    with pytest.raises(HubError) as info:
        push_folder(tmp_path / "f", "someone/x")
    assert TOKEN not in str(info.value) and "HTTP 500" in str(info.value)
    assert redact(f"a {TOKEN} b") == "a *** b"


# ----------------------------------------------------------------------------- a real process


def test_publish_in_a_subprocess_reads_hf_endpoint_and_never_prints_the_token(fake_hub, run_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=fake_hub.url, HF_TOKEN=TOKEN, HF_HOME=str(run_dir.parent / "hf-home"),
               HF_HUB_DISABLE_XET="1")
    proc = subprocess.run([sys.executable, "-m", "aligner.cli", "publish", str(run_dir), "--repo-id",
                           "someone/sub"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"Published: {fake_hub.url}/datasets/someone/sub/commit/" in proc.stdout
    assert TOKEN not in proc.stdout + proc.stderr
    assert "README.md" in fake_hub.repos["someone/sub"]["files"]
    fake_hub.assert_token_only_in_authorization_header()


# ----------------------------------------------------------------------------- merging into the repository


CITATION_SECTION = ("## Citation\n\nWritten by hand: cite the reports' publisher.\n\n```bibtex\n@misc{reports,\n"
                    "  title = {The reports}\n}\n```\n")


def _hand_edit(hub: FakeHub, repo: str) -> str:
    """What an owner does on the Hub's web editor: licence to cc-by-sa-4.0, a metadata key
    of their own, a `## Citation` section at the end. Returns the edited card."""
    from huggingface_hub import DatasetCard

    card = DatasetCard(hub.repos[repo]["files"]["README.md"].decode())
    card.data["license"] = "cc-by-sa-4.0"
    card.data["homepage"] = "https://example.org/reports"
    card.text = card.text.rstrip("\n") + "\n\n" + CITATION_SECTION
    text = str(card.content)
    hub.repos[repo]["files"]["README.md"] = text.encode()
    return text


def _download(hub: FakeHub, repo: str, folder: Path) -> Path:
    for rel, data in hub.files(repo, "main").items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def test_publish_twice_keeps_hand_edits_and_configurations_coexist(fake_hub, run_dir, tmp_path):
    import datasets
    from huggingface_hub import DatasetCard

    from aligner.outputs.splits import split_records

    repo = "someone/merged"
    shares = (0.5, 0.25, 0.25)
    result = _invoke("publish", str(run_dir), "--repo-id", repo, "--split", "0.5,0.25,0.25", "--license", "cc-by-4.0")
    assert result.exit_code == 0, result.output
    by_split = {n: recs for n, recs in split_records(_records(), shares).items() if recs}
    plain_default = {f"data/{n}-00000-of-00001.parquet" for n in by_split}
    assert _plain(fake_hub.repos[repo]["files"]) == {".gitattributes", "README.md"} | plain_default
    default_files = {_shard(fake_hub.repos[repo]["files"], n) for n in by_split}
    first = {p: fake_hub.repos[repo]["files"][p] for p in default_files}
    _hand_edit(fake_hub, repo)

    # A second configuration, pushed without --license, with its own commit message.
    result = _invoke("publish", str(run_dir), "--repo-id", repo, "--config-name", "strict", "--min-quality", "0.45",
                     "--commit-message", "Add the strict configuration")
    assert result.exit_code == 0, result.output
    assert "configuration strict" in result.stdout
    files = fake_hub.repos[repo]["files"]
    assert _plain(files) == {".gitattributes", "README.md", "strict/train-00000-of-00001.parquet"} | plain_default
    strict_file = _shard(files, "train", "strict")
    assert {p: files[p] for p in default_files} == first  # config A's files untouched
    assert fake_hub.commits[1]["header"]["summary"] == "Add the strict configuration"
    assert [line["key"] for line in fake_hub.commits[1]["lines"]] == ["file", "lfsFile"]  # README + one shard, no delete

    text = files["README.md"].decode()
    card = DatasetCard(text)
    assert card.data.license == "cc-by-sa-4.0"  # the hand-changed licence stays
    assert card.data["homepage"] == "https://example.org/reports"
    assert text.endswith("\n\n" + CITATION_SECTION) and text.count("## Citation\n") == 1
    assert "Licence not set" not in text
    strict_rows = sum(r.score >= 0.45 for r in _records())
    assert card.data.configs == [
        {"config_name": "default", "data_files": [{"split": n, "path": _shard(files, n)} for n in by_split]},
        {"config_name": "strict", "data_files": [{"split": "train", "path": strict_file}]}]
    assert [(i["config_name"], [(s["name"], s["num_examples"]) for s in i["splits"]])
            for i in card.data.dataset_info] == [
        ("default", [(n, len(recs)) for n, recs in by_split.items()]), ("strict", [("train", strict_rows)])]
    for marker in ("<!-- aligner:begin main -->", "<!-- aligner:begin config default -->",
                   "<!-- aligner:begin config strict -->", "## Configuration `default`", "## Configuration `strict`",
                   'load_dataset("someone/merged", "strict")', "## Limitations and bias"):
        assert text.count(marker) == 1, marker
    assert text.index("config default -->") < text.index("config strict -->") < text.index("## Citation")

    # The default configuration again, without a split: only data/ changes; strict and the edits stay.
    result = _invoke("publish", str(run_dir), "--repo-id", repo)
    assert result.exit_code == 0, result.output
    files = fake_hub.repos[repo]["files"]
    assert _plain(files) == {".gitattributes", "README.md", "data/train-00000-of-00001.parquet",
                             "strict/train-00000-of-00001.parquet"}
    assert _shard(files, "train", "strict") == strict_file
    deleted = sorted(line["value"]["path"] for line in fake_hub.commits[2]["lines"] if line["key"] == "deletedFile")
    # Every file of the first push is gone (other rows, so other names, even for train); strict's stays.
    assert deleted == sorted(default_files) and _shard(files, "train") not in default_files
    text = files["README.md"].decode()
    card = DatasetCard(text)
    assert card.data.license == "cc-by-sa-4.0" and text.endswith("\n\n" + CITATION_SECTION)
    assert card.data.configs[0] == {"config_name": "default",
                                    "data_files": [{"split": "train", "path": _shard(files, "train")}]}
    assert [i["splits"] for i in card.data.dataset_info][0][0]["num_examples"] == len(_records())

    # Both configurations load with their own rows.
    folder = _download(fake_hub, repo, tmp_path / "clone")
    default = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    strict = datasets.load_dataset(str(folder), "strict", cache_dir=str(tmp_path / "cache"))
    assert [row["translation"]["en"] for row in default["train"]] == [r.en for r in _records()]
    assert [row["translation"]["en"] for row in strict["train"]] == [r.en for r in _records() if r.score >= 0.45]
    fake_hub.assert_token_only_in_authorization_header()


def test_card_passes_huggingface_hub_metadata_validation(fake_hub, run_dir):
    """``DatasetCard.validate`` POSTs the card to the Hub's /api/validate-yaml: it needs the
    network (the stand-in only checks that there is a YAML block), so the card is checked
    offline instead: strict local YAML parsing by ``RepoCard``, a ``DatasetCardData`` round
    trip, the Hub's fixed vocabularies, and ``datasets`` reading its configs and infos."""
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    from aligner.outputs.card import HUB_LICENSES, SIZE_CATEGORIES
    from aligner.outputs.hf_schema import hf_features

    result = _invoke("publish", str(run_dir), "--repo-id", "someone/valid", "--license", "other", "--license-name",
                     "reports-licence-1.0")
    assert result.exit_code == 0, result.output
    text = fake_hub.repos["someone/valid"]["files"]["README.md"].decode()
    card = DatasetCard(text, ignore_metadata_errors=False)
    meta = card.data.to_dict()
    assert DatasetCardData(**meta).to_dict() == meta
    assert DatasetCard(str(card.content)).data.to_dict() == meta
    assert {k: meta[k] for k in ("license", "license_name", "pretty_name", "annotations_creators", "language_creators",
                                 "source_datasets", "task_categories", "language", "multilinguality",
                                 "size_categories")} == {
        "license": "other", "license_name": "reports-licence-1.0", "pretty_name": "English-Arabic sentence-aligned corpus",
        "annotations_creators": ["machine-generated"], "language_creators": ["found"],
        "source_datasets": ["original"], "task_categories": ["translation"], "language": ["ar", "en"],
        "multilinguality": "translation", "size_categories": ["n<1K"]}
    assert meta["license"] in HUB_LICENSES and meta["size_categories"][0] in SIZE_CATEGORIES
    infos = DatasetInfosDict.from_dataset_card_data(card.data)
    assert list(infos) == ["default"]
    assert infos["default"].features == hf_features(False)
    assert {n: s.num_examples for n, s in infos["default"].splits.items()} == {"train": len(_records())}
    assert MetadataConfigs.from_dataset_card_data(card.data) == {
        "default": {"data_files": [{"split": "train",
                                    "path": _shard(fake_hub.repos["someone/valid"]["files"], "train")}]}}
    for section in ("## What the scores mean", "## Intended uses", "## Limitations and bias", "## Citing aligner",
                    "### How it was made", "`CITATION.cff`", "**Machine alignment errors.**",
                    "**One language pair.**", "**Domain of the inputs.**"):
        assert text.count(section) == 1, section


def test_bad_licence_is_a_usage_error_naming_the_valid_form(fake_hub, run_dir, tmp_path):
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/x", "--license", "CC BY 4.0")
    assert result.exit_code == 2
    assert "licence 'CC BY 4.0' is not a Hugging Face Hub licence id: did you mean 'cc-by-4.0'?" in result.stderr
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/x", "--license", "other")
    assert result.exit_code == 2 and "licence 'other' needs a name: pass --license-name NAME" in result.stderr
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/x", "--license", "mit", "--license-name", "x")
    assert result.exit_code == 2 and "--license-name goes with --license other only" in result.stderr
    result = _invoke("publish", str(run_dir), "--repo-id", "someone/x", "--config-name", "data")
    assert result.exit_code == 2 and "not 'data'" in result.stderr
    result = _invoke("export", str(run_dir), "-o", str(tmp_path / "out"), "--format", "hf", "--license", "Apache 2.0")
    assert result.exit_code == 2 and "did you mean 'apache-2.0'?" in result.stderr
    assert not (tmp_path / "out").exists()
    for side in ("en", "ar"):
        (tmp_path / side).mkdir()
    result = _invoke("align", str(tmp_path / "en"), str(tmp_path / "ar"), "-o", str(tmp_path / "aligned"),
                     "--format", "hf", "--license", "CC-BY-SA 4.0")
    assert result.exit_code == 2 and "did you mean 'cc-by-sa-4.0'?" in result.stderr
    assert not (tmp_path / "aligned").exists()
    assert fake_hub.requests == []


def test_revision_and_pull_request(fake_hub, run_dir):
    from huggingface_hub import DatasetCard

    repo = "someone/branches"
    result = _invoke("publish", str(run_dir), "--repo-id", repo, "--revision", "dev", "--license", "mit")
    assert result.exit_code == 0, result.output
    assert set(fake_hub.repos[repo]["files"]) == {".gitattributes"}  # main untouched
    assert _plain(fake_hub.files(repo, "dev")) == {".gitattributes", "README.md", "data/train-00000-of-00001.parquet"}
    assert len(fake_hub.calls("POST", f"/api/datasets/{repo}/branch/dev")) == 1
    assert fake_hub.commits[0]["rev"] == "dev"

    result = _invoke("publish", str(run_dir), "--repo-id", repo, "--revision", "dev", "--create-pr",
                     "--config-name", "extra", "--commit-message", "Propose extra")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(f"Pull request opened: {fake_hub.url}/datasets/{repo}/discussions/1\n")
    assert fake_hub.commits[1]["rev"] == "refs/pr/1" and fake_hub.commits[1]["header"]["summary"] == "Propose extra"
    assert _plain(fake_hub.files(repo, "dev")) == {".gitattributes", "README.md", "data/train-00000-of-00001.parquet"}
    pr = fake_hub.files(repo, "refs/pr/1")
    assert _plain(pr) == {".gitattributes", "README.md", "data/train-00000-of-00001.parquet",
                          "extra/train-00000-of-00001.parquet"}
    assert _shard(pr, "train") == _shard(fake_hub.files(repo, "dev"), "train")  # the base branch's file kept
    assert "license: mit" in pr["README.md"].decode()  # the card was read from the base branch and merged
    assert [c["config_name"] for c in DatasetCard(pr["README.md"].decode()).data.configs] == ["default", "extra"]
    fake_hub.assert_token_only_in_authorization_header()


def test_card_says_how_documents_were_paired(run_dir, tmp_path):
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    run["inputs"] = {"presplit": False, "pairing": "name", "pair_by": "content", "max_sources": 1,
                     "pairing_settings": {"method": "content", "max_sources": 1}}
    (run_dir / "run.json").write_text(json.dumps(run), encoding="utf-8")
    text = (Corpus.from_dir(run_dir).write_hf(tmp_path / "hf") / "README.md").read_text(encoding="utf-8")
    assert ("| document pairing | by content (sentence embeddings of the documents, nearest neighbours, re-scored by "
            "sentence alignment), not by file name |") in text
    assert "same file name" not in text


def test_citation_cff_describes_the_tool():
    import yaml

    import aligner

    root = Path(__file__).resolve().parents[1]
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    assert {k: cff[k] for k in ("cff-version", "title", "type", "version")} == {
        "cff-version": "1.2.0", "title": "aligner", "type": "software", "version": aligner.__version__}
    assert cff["authors"] == [{"name": "The aligner contributors"}]


def _shard(files, split: str, folder: str = "data") -> str:
    """The one Parquet file of ``split`` (``<folder>/<split>-00000-of-00001-<content id>.parquet``)."""
    (name,) = [p for p in files if re.fullmatch(rf"{folder}/{split}-00000-of-00001-[0-9a-f]{{16}}\.parquet", p)]
    return name


def _plain(files) -> set[str]:
    """The repository's file names with the content id taken out of each Parquet file's name
    (``data/train-00000-of-00001.parquet``), after checking that it is the first 16 hex digits
    of the SHA-256 of the file's bytes."""
    names = set()
    for path, data in files.items():
        match = re.fullmatch(r"(.+)-([0-9a-f]{16})(\.parquet)", path)
        if match is None:
            assert not path.endswith(".parquet"), path
            names.add(path)
            continue
        assert match.group(2) == hashlib.sha256(data).hexdigest()[:16], path
        names.add(match.group(1) + match.group(3))
    return names
