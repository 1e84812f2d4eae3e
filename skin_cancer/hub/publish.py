"""Publishing to the Hugging Face Hub: check, stage the repository as it will look, upload it in one commit.

The staged folder is a complete dataset repository (Parquet shards, README.md card, preview image),
so `load_dataset(<staged folder>)` shows exactly what `load_dataset("<owner>/<name>")` will.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataset.compat import convert_file_size_to_int
from ..errors import PublishError, UsageError
from ..options import DEFAULT_CONFIGS, NATIVE_MASKS_CONFIG
from ..releases import Release
from ..tools.export import split_num_bytes, write_split_shards
from ..tools.outputs import MARKER, interruption_point, replacing, written_files
from ..tools.pipeline import Build
from ..tools.preview import sample_preview
from ..tools.summary import diagnosis_counts
from .card import (
    LEGACY_SHARDS,
    ConfigFacts,
    ExistingCard,
    SplitFacts,
    choose_default,
    config_facts,
    id2label,
    render_card,
    source_dataset,
    validate_card,
)
from .licences import LicenseChoice, LicenseSummary, select_licensed

PREVIEW_PATH = "assets/preview.png"
ID2LABEL_PATH = "id2label.json"
PREVIEW_PAIRS = 6
TOKEN_HELP = "pass --token, set HF_TOKEN, or log in once with `hf auth login`"


@dataclass(frozen=True)
class StagedRepo:
    """A dataset repository written to a local folder, as it will be uploaded.

    files: the paths, relative to `folder`, of everything staged; partial: a split holds fewer
    pairs than the official release (uploaded only with --allow-partial); configs: the configuration names
    the card lists after this upload.
    """

    folder: Path
    files: list[str]
    partial: bool
    configs: list[str] = field(default_factory=lambda: list(DEFAULT_CONFIGS))
    # Shards of a skin_cancer 1.x upload (one "default" configuration in data/), replaced by this one.
    legacy_patterns: list[str] = field(default_factory=list)
    default: str | None = None  # the repository's default configuration after this upload
    # The release's terms allow redistribution (releases.Release.redistributable); `upload` refuses otherwise.
    redistributable: bool = True
    release: str = ""  # the release's short name, for messages


def check_repo_id(repo_id: str) -> None:
    """Raise UsageError unless `repo_id` is a valid Hub id of the form OWNER/NAME (huggingface_hub's
    validate_repo_id, plus exactly one "/"). Checked before anything is built or staged.
    """
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise UsageError(f"invalid --repo-id {repo_id!r}: {error}") from None
    if repo_id.count("/") != 1:
        raise UsageError(f"invalid --repo-id {repo_id!r}: expected OWNER/NAME, e.g. my-lab/isic-2017-512")


def check_redistributable(release: Release) -> None:
    """Raise UsageError when the release's terms forbid redistribution (PH2: `Release.redistributable`, whose
    source is beside it in releases.py): such a release may be staged locally with --dry-run, never uploaded."""
    if not release.redistributable:
        raise UsageError(_not_redistributable(release.short_name))


def _not_redistributable(name: str) -> str:
    return (
        f"refusing to upload {name}: its terms forbid redistributing this build; stage it locally with --dry-run OUT "
        "(for `skin-cancer evaluate --dataset OUT`) and keep it to yourself"
    )


def check_complete(build: Build, allow_partial: bool) -> bool:
    """True when partial (and allowed); an error naming every short split otherwise."""
    release = build.release
    short = [
        f"{name} has {len(dataset)} of {release.split(name).official_count} official pairs"
        for name, dataset in build.dataset.items()
        if len(dataset) < release.split(name).official_count
    ]
    if short and not allow_partial:
        raise PublishError(
            f"refusing to publish a partial {release.short_name} from {build.data_dir}: {'; '.join(short)} "
            "(pass --allow-partial to publish it anyway, marked as partial on the card)"
        )
    return bool(short)


def stage(
    builds: Build | Sequence[Build],
    repo_id: str,
    folder: Path,
    max_shard_size: str | int,
    allow_partial: bool,
    overwrite: bool = False,
    existing: ExistingCard | None = None,
    set_default: bool = False,
    licenses: LicenseChoice | None = None,
) -> StagedRepo:
    """Write the repository into `folder` (new, empty, or an earlier staging with `overwrite`), all or nothing.

    Each build is one configuration (`pad-512`, ...) with its shards under its own folder. Configurations
    of `existing` (the repository's current card) that are not rebuilt here are kept in the card, whole,
    and their shards are never touched; so are its default configuration (unless `set_default`: then the
    first build's, as in a new repository) and what a person wrote in it (see `card.render_card`).
    `licenses` keeps only the images under the chosen licences (hub/licences.py; None publishes every
    image); the card counts per-image licences.
    """
    builds = [builds] if isinstance(builds, Build) else list(builds)
    names = [build.options.config_name for build in builds]
    if len(set(names)) != len(names):
        raise UsageError(f"the same variant was given twice: {', '.join(names)}")
    releases = sorted({build.release.name for build in builds})
    if len(releases) != 1:
        raise UsageError(f"one repository holds one release, not {', '.join(releases)}: publish each to its own")
    partial = any([check_complete(build, allow_partial) for build in builds])
    selections = [select_licensed(build, licenses) for build in builds]
    builds = [build for build, _ in selections]
    licence_summary = LicenseSummary(builds[0].release, selections[0][1], licenses)
    convert_file_size_to_int(max_shard_size)  # a bad size fails here, before any work
    protected = [folder for build in builds for folder in build.protected_folders]
    if existing is not None:
        _check_mergeable(existing, builds[0])
    with replacing(folder, "staged Hub repository", overwrite, protected) as scratch:
        published = []
        for build in builds:
            name = build.options.config_name
            splits = [_write_shards(build, split, scratch, max_shard_size, name) for split in build.dataset]
            download_size = sum(path.stat().st_size for path in (scratch / name).iterdir())
            features = next(iter(build.dataset.values())).features  # PH2 has only `test`
            published.append((config_facts(name, features, splits, download_size), build.options))
        native = _stage_native_masks(builds[0], scratch)
        ceilings = {build.options.config_name: resolution_ceiling(build) for build in builds} if native else {}
        (scratch / PREVIEW_PATH).parent.mkdir(parents=True)
        _preview(builds[0]).save(scratch / PREVIEW_PATH)
        (scratch / ID2LABEL_PATH).write_text(json.dumps(id2label(builds[0].release), indent=2) + "\n")
        extra = [native] if native else []
        content = render_card(
            repo_id,
            published,
            partial,
            PREVIEW_PATH,
            existing,
            extra,
            ceilings=ceilings,
            release=builds[0].release,
            set_default=set_default,
            licenses=licence_summary,
        )
        validate_card(content, [facts for facts, _ in published] + extra)
        (scratch / "README.md").write_text(content)
    folder = folder.expanduser().resolve()
    files = written_files(folder)
    legacy = [LEGACY_SHARDS] if existing is not None and existing.legacy else []
    all_names = [*names, *([NATIVE_MASKS_CONFIG] if native else []), *(existing.configs if existing else [])]
    default = choose_default(names[0], all_names, existing, set_default)
    release = builds[0].release
    return StagedRepo(
        folder,
        files,
        partial,
        names + ([NATIVE_MASKS_CONFIG] if native else []),
        legacy,
        default,
        release.redistributable,
        release.short_name,
    )


def _check_mergeable(existing: ExistingCard, build: Build) -> None:
    """One repository holds one release, and every variant in it holds the same pairs."""
    source = source_dataset(build.release)
    extended = [name for name in existing.source_datasets if name.startswith("extended|")]  # 1.x said "original"
    if extended and source not in extended:
        raise PublishError(
            f"the repository holds {', '.join(extended)}, not {source}: publish each release to its own repository"
        )
    counts = {split: len(dataset) for split, dataset in build.dataset.items()}
    for facts in existing.kept({build.options.config_name, NATIVE_MASKS_CONFIG}):
        theirs = {split.name: split.pairs for split in facts.splits}
        if facts.info is not None and theirs != counts:  # without dataset_info the card has no counts
            raise PublishError(
                f"the repository's configuration {facts.name} holds {_counts(theirs)} pairs but this build holds "
                f"{_counts(counts)}: every variant of a repository must come from the same data; publish them all "
                "again from this data with --variant, or use another repository"
            )


def _counts(counts: dict[str, int]) -> str:
    return "/".join(str(count) for count in counts.values())


def _stage_native_masks(build: Build, root: Path) -> ConfigFacts | None:
    """The `native_masks` configuration: every split's original ISIC mask PNGs, byte for byte, so that
    `skin-cancer evaluate --dataset` can score at native resolution from the repository alone."""
    import datasets

    from ..dataset.discovery import read_bytes
    from ..evaluate import truth_from_build

    if build.data_dir is None:
        return None  # a download build: the masks stay in the download cache (the card says so)
    features = datasets.Features({"image_id": datasets.Value("string"), "mask": datasets.Image()})
    splits = []
    for split in build.dataset:
        interruption_point()
        rows = truth_from_build(build, split).rows
        table = datasets.Dataset.from_dict(
            {
                "image_id": [row.image_id for row in rows],
                "mask": [{"bytes": read_bytes(row.native_mask), "path": None} for row in rows],  # type: ignore[arg-type]
            },
            features=features,
        )
        relative = f"{NATIVE_MASKS_CONFIG}/{split}-00000-of-00001.parquet"
        (root / NATIVE_MASKS_CONFIG).mkdir(exist_ok=True)
        table.to_parquet(str(root / relative))
        splits.append(SplitFacts(split, len(table), split_num_bytes(table), {}))
    download_size = sum(path.stat().st_size for path in (root / NATIVE_MASKS_CONFIG).iterdir())
    return config_facts(NATIVE_MASKS_CONFIG, features, splits, download_size)


def resolution_ceiling(build: Build, split: str = "test") -> float:
    """Mean Jaccard of the build's own square masks mapped back to native size: the best any model
    trained at this size can score on `split`."""
    from ..evaluate import ceiling_predictions, score, truth_from_build

    truth = truth_from_build(build, split)
    return float(score(ceiling_predictions(truth), truth).summary["native"]["jaccard"])


@dataclass(frozen=True)
class RemoteState:
    """The repository as it was read before staging: its card (None for a new repository) and its commit."""

    card: ExistingCard | None
    commit: str | None


def read_remote(repo_id: str, token: str, revision: str | None = None, api: Any = None) -> RemoteState:
    """Read the current card and commit, so the upload keeps other variants and notices concurrent commits."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    api = api or HfApi()

    def commit() -> str | None:
        try:
            return api.repo_info(repo_id, repo_type="dataset", revision=revision, token=token).sha
        except (RepositoryNotFoundError, RevisionNotFoundError):
            return None  # a new repository or branch: nothing to keep

    def card_text(sha: str) -> str | None:
        try:
            path = api.hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=sha, token=token)
        except EntryNotFoundError:
            return None
        return Path(path).read_text(encoding="utf-8")

    sha = _hub_call(commit, repo_id)
    if sha is None:
        return RemoteState(None, None)
    text = _hub_call(lambda: card_text(sha), repo_id)
    if text is None:
        return RemoteState(None, sha)
    try:
        return RemoteState(ExistingCard.parse(text), sha)
    except Exception as error:
        raise PublishError(f"the current dataset card of {repo_id} cannot be read: {error}") from error


def commit_message(builds: Build | Sequence[Build]) -> str:
    """The Hub commit's title: "Upload ISIC-2017 pad-512, skin_cancer builder 2.1.0" (the release of the
    first build, every build's configuration name, the builder version that made them).
    """
    builds = [builds] if isinstance(builds, Build) else list(builds)
    names = ", ".join(build.options.config_name for build in builds)
    return f"Upload {builds[0].release.short_name} {names}, skin_cancer builder {_version(builds[0])}"


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
    parent_commit: str | None = None,
) -> str:
    """Create the dataset repo if needed and upload the staged folder in one commit; return its URL.

    `parent_commit` is the commit the card was merged from: if anyone committed since, the Hub refuses
    the commit and nothing changes. Raises UsageError, before any request, for a release whose terms forbid
    redistribution (`staged.redistributable` False: PH2).
    """
    from huggingface_hub import HfApi

    if not staged.redistributable:
        raise UsageError(_not_redistributable(staged.release or "this release"))
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
            # Only the shards of the variants published now are replaced; other variants' shards stay.
            delete_patterns=[f"{name}/*.parquet" for name in staged.configs] + staged.legacy_patterns,
            parent_commit=parent_commit,
            ignore_patterns=[MARKER],  # the marker says "ours" on the local disk only
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
    if status == 412:
        return (
            f"someone else committed to {repo_id} while this upload was being prepared; nothing was changed: "
            "run the command again to merge with their commit"
        )
    hub_says = getattr(error, "server_message", None) or str(error)
    return f"the Hub refused the request for {repo_id} (HTTP {status}): {_one_line(hub_says)}"


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def _write_shards(build: Build, split: str, folder: Path, max_shard_size: str | int, config: str) -> SplitFacts:
    write_split_shards(build, split, folder, max_shard_size, config)
    dataset = build.dataset[split]
    diagnoses = diagnosis_counts(dataset["diagnosis"], dataset.features["diagnosis"].names)
    return SplitFacts(split, len(dataset), split_num_bytes(dataset), diagnoses)


def _preview(build: Build):
    # The training split, or the first there is (PH2 has only `test`).
    split = "train" if "train" in build.dataset else next(iter(build.dataset))
    return sample_preview(build, split, PREVIEW_PAIRS, seed=None)


def _version(build: Build) -> str:
    return str(build.builder.info.version or build.builder.VERSION)


__all__ = [
    "ID2LABEL_PATH",
    "RemoteState",
    "StagedRepo",
    "check_redistributable",
    "check_repo_id",
    "commit_message",
    "read_remote",
    "resolve_token",
    "stage",
    "upload",
]
