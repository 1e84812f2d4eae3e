"""Publishing to the Hugging Face Hub: check, stage the repository as it will look, upload it in one commit.

The staged folder is a complete dataset repository (Parquet shards, README.md card, preview image),
so `load_dataset(<staged folder>)` shows exactly what `load_dataset("<owner>/<name>")` will.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .card import SplitFacts, render_card, validate_card
from .compat import convert_file_size_to_int
from .errors import SkinCancerError, UsageError
from .export import replacing, write_split_shards
from .layout import SPLITS_BY_NAME
from .pipeline import Build
from .preview import sample_preview
from .summary import diagnosis_counts

PREVIEW_PATH = "assets/preview.png"
PREVIEW_PAIRS = 6
TOKEN_HELP = "pass --token, set HF_TOKEN, or log in once with `hf auth login`"


class PublishError(SkinCancerError):
    """Publishing cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class StagedRepo:
    folder: Path
    files: list[str]
    partial: bool


def check_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UsageError(f"invalid --repo-id {repo_id!r}: {error}") from None
    if repo_id.count("/") != 1:
        raise UsageError(f"invalid --repo-id {repo_id!r}: expected OWNER/NAME, e.g. my-lab/isic-2017-512")


def check_complete(build: Build, allow_partial: bool) -> bool:
    """True when partial (and allowed); an error naming every short split otherwise."""
    short = [
        f"{name} has {len(dataset)} of {SPLITS_BY_NAME[name].official_count} official pairs"
        for name, dataset in build.dataset.items()
        if len(dataset) < SPLITS_BY_NAME[name].official_count
    ]
    if short and not allow_partial:
        raise PublishError(
            f"refusing to publish a partial ISIC-2017 from {build.data_dir}: {'; '.join(short)} "
            "(pass --allow-partial to publish it anyway, marked as partial on the card)"
        )
    return bool(short)


def stage(build: Build, repo_id: str, folder: Path, max_shard_size: str | int, allow_partial: bool) -> StagedRepo:
    """Write the repository into `folder` (which must not exist), all or nothing."""
    partial = check_complete(build, allow_partial)
    convert_file_size_to_int(max_shard_size)  # a bad size fails here, before any work
    with replacing(folder, overwrite=False, refusal="choose a new folder for the staged repository") as scratch:
        splits = [_write_shards(build, name, scratch, max_shard_size) for name in build.dataset]
        (scratch / PREVIEW_PATH).parent.mkdir(parents=True)
        _preview(build).save(scratch / PREVIEW_PATH)
        download_size = sum(path.stat().st_size for path in (scratch / "data").iterdir())
        features = build.dataset["train"].features
        content = render_card(repo_id, features, splits, build.options, PREVIEW_PATH, download_size, partial)
        validate_card(content, splits)
        (scratch / "README.md").write_text(content)
    files = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    return StagedRepo(folder, files, partial)


def commit_message(build: Build) -> str:
    size = build.options["size"]
    return f"Upload ISIC-2017 {size}x{size} ({build.options['resize_mode']}), skin_cancer builder {_version(build)}"


def resolve_token(explicit: str | None) -> str:
    """--token, then HF_TOKEN, then the saved login (huggingface_hub's own order after the flag)."""
    from huggingface_hub import get_token

    token = explicit or get_token()
    if not token:
        raise PublishError(f"no Hugging Face token: {TOKEN_HELP}")
    return token


def upload(
    staged: StagedRepo,
    repo_id: str,
    token: str,
    message: str,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    api: Any = None,
) -> str:
    """Create the dataset repo if needed and upload the staged folder in one commit; return its URL."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    user = _hub_call(lambda: api.whoami(token=token), repo_id)
    owners = {user.get("name"), *(org.get("name") for org in user.get("orgs", []) or [])}
    owner = repo_id.split("/")[0]
    if owner not in owners:
        raise PublishError(
            f"{repo_id} belongs to {owner!r}, but this token is for {user.get('name')!r}"
            + (
                f" (organisations: {', '.join(sorted(name for name in owners if name != user.get('name')))})"
                if len(owners) > 1
                else ""
            )
            + ": use a repo id under your own name or one of your organisations"
        )
    _hub_call(
        lambda: api.create_repo(repo_id, token=token, repo_type="dataset", private=private, exist_ok=True), repo_id
    )
    if revision and revision != "main" and not create_pr:
        _hub_call(
            lambda: api.create_branch(repo_id, branch=revision, token=token, repo_type="dataset", exist_ok=True),
            repo_id,
        )
    commit = _hub_call(
        lambda: api.upload_folder(
            repo_id=repo_id,
            folder_path=str(staged.folder),
            repo_type="dataset",
            revision=revision,
            create_pr=create_pr,
            commit_message=message,
            # Shards of an earlier, differently sharded upload must not linger next to the new ones.
            delete_patterns=["data/*.parquet"],
            token=token,
        ),
        repo_id,
    )
    return str(getattr(commit, "pr_url", None) or getattr(commit, "commit_url", None) or commit)


def _hub_call(call, repo_id: str):
    """Run one Hub request, turning its failures into one line that never contains the token.

    The original error stays chained as the cause, so `--debug` shows it. huggingface_hub 0.x raises
    `requests` errors, 1.x `httpx` ones and 2.x `httpx2` ones: they are told apart by module, not imported.
    """
    from huggingface_hub.utils import HfHubHTTPError, HFValidationError, RepositoryNotFoundError

    try:
        return call()
    except HFValidationError as error:
        raise UsageError(f"invalid --repo-id {repo_id!r}: {error}") from error
    except RepositoryNotFoundError as error:
        raise PublishError(f"{repo_id} was not found or this token cannot see it") from error
    except HfHubHTTPError as error:
        raise PublishError(_http_message(error, repo_id)) from error
    except Exception as error:
        if _is_network_error(error):
            raise PublishError(
                f"cannot reach the Hugging Face Hub ({type(error).__name__}): check the network"
            ) from error
        if isinstance(error, OSError):
            raise PublishError(f"a local file error stopped the upload to {repo_id}: {_one_line(error)}") from error
        raise


# Where the HTTP clients of each huggingface_hub generation define their errors.
_NETWORK_MODULES = ("requests", "urllib3", "httpx", "httpx2", "httpcore", "h11", "h2", "aiohttp", "ssl", "socket")


def _is_network_error(error: BaseException) -> bool:
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    return type(error).__module__.split(".")[0] in _NETWORK_MODULES


def _http_message(error: Exception, repo_id: str) -> str:
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status == 401:
        return f"the Hugging Face token was rejected (HTTP 401): {TOKEN_HELP}"
    if status == 403:
        return f"this token may not write to {repo_id} (HTTP 403): is it a write token?"
    if status == 409:
        return f"{repo_id} exists and is not a dataset repository you can write to (HTTP 409)"
    hub_says = getattr(error, "server_message", None) or str(error)
    return f"the Hub refused the request for {repo_id} (HTTP {status}): {_one_line(hub_says)}"


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def _write_shards(build: Build, split: str, folder: Path, max_shard_size: str | int) -> SplitFacts:
    paths = write_split_shards(build, split, folder, max_shard_size)
    dataset = build.dataset[split]
    diagnoses = diagnosis_counts(dataset["diagnosis"], dataset.features["diagnosis"].names)
    return SplitFacts(split, len(dataset), build.builder.info.splits[split].num_bytes, diagnoses, paths)


def _preview(build: Build):
    return sample_preview(build, "train", PREVIEW_PAIRS, seed=None)


def _version(build: Build) -> str:
    return str(build.builder.info.version or build.builder.VERSION)
