"""Publishing a dataset folder to the Hugging Face Hub in one commit, as ``datasets``'
``push_to_hub`` does.

:func:`push_folder` creates the dataset repository (``HfApi.create_repo(repo_type="dataset",
exist_ok=True)``) and, for a ``revision``, its branch (``HfApi.create_branch(exist_ok=True)``);
reads the repository's ``README.md`` when it has one and merges the new dataset card into
it (``merge_card``: the owner's metadata and sections are kept, see :mod:`aligner.outputs.card`);
then makes ONE commit (``HfApi.create_commit``, with ``revision``, ``create_pr`` and the
commit message passed through) that adds every file of the folder and deletes the files of
an earlier push under this configuration's data folder (``data_dir``) that this push does
not write (data file names carry their content's hash, so a re-push of changed rows
leaves the old files to delete; the card lists this push's names exactly).
Nothing outside ``data_dir`` is deleted: other configurations keep their files. A commit is
all or nothing on the Hub, so a failure leaves the repository as it was; the commit URL (or
the pull request's) is returned only after the Hub accepted it.

The token comes from the usual places (``HF_TOKEN``, then the login cache of ``hf auth
login``), resolved by ``huggingface_hub``; it is sent in the ``Authorization`` header only
and never appears in a message: every error is a :class:`HubError` whose text has any
token removed.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Callable

HF_TOKEN_PATTERN = re.compile(r"hf_[A-Za-z0-9]{8,}")


class HubError(RuntimeError):
    """Publishing failed; the message says why and never holds the token."""


def redact(text: str, token: str | None = None) -> str:
    """``text`` with ``token`` and anything shaped like a Hugging Face token (``hf_...``)
    replaced by ``***``."""
    if token:
        text = text.replace(token, "***")
    return HF_TOKEN_PATTERN.sub("***", text)


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` when it is a Hub repository id (``user/name``); else :class:`HubError`."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*", repo_id or "") \
            or ".." in repo_id or "--" in repo_id:  # the Hub refuses these too
        raise HubError(f"repository id {repo_id!r}: expected 'user/name' (or 'organisation/name')")
    return repo_id


def push_folder(folder: str | Path, repo_id: str, *, private: bool = False, token: str | None = None,
                endpoint: str | None = None, commit_message: str = "Upload corpus", data_dir: str = "data",
                revision: str | None = None, create_pr: bool = False,
                merge_card: Callable[[str | None], str] | None = None) -> str:
    """Upload every file under ``folder`` to the dataset repository ``repo_id`` in one
    commit (see the module docstring) and return the commit URL (with ``create_pr``, the
    pull request's URL).

    ``private``: create the repository private (a repository that already exists keeps
    its visibility). ``token``: default from ``HF_TOKEN`` or the login cache.
    ``endpoint``: default ``HF_ENDPOINT`` / https://huggingface.co. ``data_dir``: the
    folder of this push's data files; remote files under it that ``folder`` does not hold
    are deleted in the same commit. ``revision``: the branch to commit to (created from the
    default branch when missing; default: the default branch). ``create_pr``: open a pull
    request against ``revision`` instead of committing to it. ``merge_card``: given the
    repository's ``README.md`` text (``None`` when it has none), returns the card to upload
    in place of ``folder``'s ``README.md``.

    Raises :class:`HubError`: no token, offline mode, Hub unreachable, unauthorised (401),
    forbidden (403), or any other failure of repository creation or of the commit."""
    import huggingface_hub
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub import constants as hf_constants

    from aligner.io.progress import sync

    sync()  # inside quiet_progress_bars() (aligner -q): no upload bars
    folder = Path(folder)
    check_repo_id(repo_id)
    data_dir = data_dir.strip("/")
    if not data_dir or data_dir.startswith(".") or ".." in data_dir.split("/"):
        raise HubError(f"data folder {data_dir!r}: expected a folder name such as 'data'")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise HubError(f"{folder}: nothing to upload")
    offline = getattr(hf_constants, "is_offline_mode", None)
    if offline() if callable(offline) else getattr(hf_constants, "HF_HUB_OFFLINE", False):
        raise HubError("offline mode is on (HF_HUB_OFFLINE is set): unset it to publish. Nothing was uploaded.")

    resolved = token or huggingface_hub.get_token()
    if not resolved:
        raise HubError("no Hugging Face token: set HF_TOKEN or log in with `hf auth login`. Nothing was uploaded.")

    api = HfApi(endpoint=endpoint, token=resolved)
    where = api.endpoint
    stage = "creating the dataset repository"
    try:
        api.create_repo(repo_id, repo_type="dataset", private=True if private else None, exist_ok=True)
        if revision is not None and not revision.startswith("refs/pr/"):  # the Hub refuses to create a PR ref
            stage = f"creating the branch {revision!r}"
            api.create_branch(repo_id, branch=revision, repo_type="dataset", exist_ok=True)
        stage = "listing the repository's files"
        remote = _remote_files(api, repo_id, revision)
        if merge_card is not None:
            stage = "reading the repository's dataset card (README.md)"
            existing = _read_remote_text(api, repo_id, "README.md", revision) if "README.md" in remote else None
            stage = "merging the dataset card"
            (folder / "README.md").write_text(merge_card(existing), encoding="utf-8")
        local = [p.relative_to(folder).as_posix() for p in files]
        operations: list = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(folder / rel)) for rel in local]
        stale = sorted(f for f in remote if f.startswith(f"{data_dir}/") and f not in set(local))
        operations += [CommitOperationDelete(path_in_repo=f) for f in stale]
        stage = "committing the files" if not create_pr else "opening the pull request"
        info = api.create_commit(repo_id, operations, commit_message=commit_message, repo_type="dataset",
                                 revision=revision, create_pr=create_pr or None)
    except Exception as exc:  # every failure becomes one clear, token-free message
        raise HubError(redact(_describe(exc, stage, repo_id, where), resolved)) from None
    return str(info.pr_url if create_pr and info.pr_url else info.commit_url)


def _remote_files(api, repo_id: str, revision: str | None = None) -> list[str]:
    """Files in the repository at ``revision`` (default branch); none when it has no commit yet."""
    from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError

    try:
        return list(api.list_repo_files(repo_id, repo_type="dataset", revision=revision))
    except (EntryNotFoundError, RevisionNotFoundError):
        return []


def _read_remote_text(api, repo_id: str, filename: str, revision: str | None) -> str:
    """The text of ``filename`` in the repository, downloaded to a temporary folder (the
    user's cache is left alone)."""
    with tempfile.TemporaryDirectory(prefix="aligner-card-") as tmp:
        path = api.hf_hub_download(repo_id, filename, repo_type="dataset", revision=revision, cache_dir=tmp)
        return Path(path).read_text(encoding="utf-8")


def _describe(exc: Exception, stage: str, repo_id: str, endpoint: str) -> str:
    """One line for a failure ``while <stage>``; says that nothing was committed."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    nothing = ("The repository may have been created, but no file was committed."
               if stage != "creating the dataset repository" else "Nothing was uploaded.")
    if isinstance(exc, OfflineModeIsEnabled):
        return f"offline mode is on (HF_HUB_OFFLINE is set): unset it to publish. {nothing}"
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, HfHubHTTPError) and status is not None:
        server = (getattr(exc, "server_message", None) or "").strip()
        detail = f" (the Hub said: {server})" if server else ""
        if status == 401:
            return (f"unauthorised (HTTP 401) while {stage} at {endpoint}: the Hub did not accept the token; "
                    f"set a valid write token in HF_TOKEN or log in with `hf auth login`{detail}. {nothing}")
        if status == 403:
            return (f"forbidden (HTTP 403) while {stage}: the token may not write to {repo_id!r}; use a token "
                    f"with write access to that user or organisation{detail}. {nothing}")
        if status == 404:
            return f"not found (HTTP 404) while {stage}: repository {repo_id!r} at {endpoint}{detail}. {nothing}"
        return f"the Hub answered HTTP {status} while {stage}{detail}. {nothing}"
    if _is_network_error(exc):
        reason = str(exc).strip() or type(exc).__name__
        return (f"cannot reach the Hugging Face Hub at {endpoint} while {stage} ({reason}): check the network "
                f"and HF_ENDPOINT. {nothing}")
    return f"failed while {stage}: {type(exc).__name__}: {exc}. {nothing}"


_NETWORK_ERROR_NAMES = {"TransportError", "NetworkError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                        "WriteTimeout", "PoolTimeout", "TimeoutException", "ProxyError", "ConnectionError",
                        "Timeout", "SSLError"}
_HTTP_CLIENT_MODULES = ("httpx", "httpcore", "requests", "urllib3")


def _is_network_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) is a failure to reach the server: a socket
    error, or a transport error of the HTTP client huggingface_hub uses (httpx, httpx2 or
    requests, recognised by class name and module so any of them works)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return True
        for cls in type(exc).__mro__:
            if cls.__name__ in _NETWORK_ERROR_NAMES and cls.__module__.startswith(_HTTP_CLIENT_MODULES):
                return True
        exc = exc.__cause__ or exc.__context__
    return False
