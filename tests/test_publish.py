"""Publishing: the dry run on the real sample, the card, and the upload at the huggingface_hub boundary."""

from __future__ import annotations

import errno
import fnmatch
import importlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import huggingface_hub
import numpy as np
import pytest
import yaml
from datasets import Image as ImageFeature
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.errors import CardError, PublishError, UsageError
from skin_cancer.hub import publish
from skin_cancer.tools.pipeline import prepare_dataset

from .helpers import REAL_COUNTS

REPO_ID = "isic-lab/isic-2017-512"
SECRET = "hf_thisIsNotARealTokenButMustNeverBePrinted"


@pytest.fixture(scope="module")
def real_build(real_sample, tmp_path_factory):
    return prepare_dataset(str(real_sample), cache_dir=str(tmp_path_factory.mktemp("publish-cache")))


@pytest.fixture(scope="module")
def dry_run(real_build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dry") / "repo"
    publish.stage(real_build, REPO_ID, out, "500MB", allow_partial=True)
    return out


def card_metadata(folder: Path) -> dict:
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_staged_repository_layout(dry_run):
    files = sorted(str(path.relative_to(dry_run)) for path in dry_run.rglob("*") if path.is_file())
    assert files == [
        ".skin-cancer-output.json",
        "README.md",
        "assets/preview.png",
        "id2label.json",
        "native_masks/test-00000-of-00001.parquet",
        "native_masks/train-00000-of-00001.parquet",
        "native_masks/valid-00000-of-00001.parquet",
        "pad-512/test-00000-of-00001.parquet",
        "pad-512/train-00000-of-00001.parquet",
        "pad-512/valid-00000-of-00001.parquet",
    ]
    assert json.loads((dry_run / "id2label.json").read_text()) == {"0": "background", "1": "lesion"}
    assert Image.open(dry_run / "assets" / "preview.png").size[0] > 500


@pytest.mark.parametrize("streaming", [False, True])
def test_staged_repository_loads_like_the_builder(dry_run, real_build, tmp_path, streaming):
    loaded = load_dataset(str(dry_run), "pad-512", cache_dir=str(tmp_path), streaming=streaming)
    assert set(loaded) == set(REAL_COUNTS)
    for split, prepared in real_build.dataset.items():
        assert isinstance(loaded[split].features["image"], ImageFeature)
        assert isinstance(loaded[split].features["mask"], ImageFeature)
        assert loaded[split].features == prepared.features
        rows = list(loaded[split])
        assert len(rows) == REAL_COUNTS[split]
        for row, expected in zip(rows, prepared, strict=True):
            assert row["image_id"] == expected["image_id"]
            assert np.array_equal(np.asarray(row["image"]), np.asarray(expected["image"]))
            assert np.array_equal(np.asarray(row["mask"]), np.asarray(expected["mask"]))


def test_card_metadata_has_every_key_and_the_right_numbers(dry_run, real_build):
    metadata = card_metadata(dry_run)
    assert metadata["license"] == "cc0-1.0"
    assert metadata["task_categories"] == ["image-segmentation"]
    assert metadata["task_ids"] == ["semantic-segmentation"]
    assert metadata["annotations_creators"] == ["expert-generated"]
    assert metadata["source_datasets"] == ["extended|isic-2017"] and "language" not in metadata
    assert {"medical", "dermatology", "dermoscopy", "skin-lesion", "isic", "melanoma"} <= set(metadata["tags"])
    assert metadata["size_categories"] == ["n<1K"]
    assert "partial" in metadata["pretty_name"]
    configs = {config["config_name"]: config for config in metadata["configs"]}
    assert set(configs) == {"pad-512", "native_masks"}
    assert configs["pad-512"]["default"] is True and not configs["native_masks"].get("default")
    files = {entry["split"]: entry["path"] for entry in configs["pad-512"]["data_files"]}
    assert files == {split: f"pad-512/{split}-*.parquet" for split in REAL_COUNTS}
    info = {info["config_name"]: info for info in metadata["dataset_info"]}["pad-512"]
    assert info["config_name"] == "pad-512"
    splits = {entry["name"]: entry for entry in info["splits"]}
    for split, dataset in real_build.dataset.items():
        assert splits[split]["num_examples"] == len(dataset)
        assert splits[split]["num_bytes"] == real_build.builder.info.splits[split].num_bytes
    feature_names = [feature["name"] for feature in info["features"]]
    assert feature_names == list(real_build.dataset["train"].features)


def test_card_body_tables_citation_and_partial_notice(dry_run, real_build):
    body = (dry_run / "README.md").read_text().split("---\n", 2)[2]
    names = real_build.dataset["train"].features["diagnosis"].names
    for split, dataset in real_build.dataset.items():
        labels = dataset["diagnosis"]
        counts = " | ".join(str(labels.count(number)) for number in range(len(names)))
        assert f"| {split} | {len(dataset)} | " in body and counts in body
    assert "arXiv:1710.05006" in body and "@article{codella2017skin" in body
    prose = " ".join(body.split())
    assert "CC-0" in prose and "International Skin Imaging Collaboration" in prose
    assert "Partial dataset" in body and "train 8 of 2000" in body
    assert f'load_dataset("{REPO_ID}", "pad-512")' in body and "streaming=True" in body
    assert "(assets/preview.png)" in body and f"version {skin_cancer.BUILDER_VERSION}" in body
    for section in ("## Personal and sensitive information", "## Out-of-scope use", "## Train with it"):
        assert section in body
    assert "`valid`, not `validation`" in prose and "DataLoader" in body


def test_without_allow_partial_the_counts_stop_it(real_build, tmp_path):
    with pytest.raises(PublishError, match="train has 8 of 2000 official pairs"):
        publish.stage(real_build, REPO_ID, tmp_path / "out", "500MB", allow_partial=False)
    assert not (tmp_path / "out").exists()


def publish_command(real_sample: Path, tmp_path: Path, *extra: str) -> int:
    common = ["--data-dir", str(real_sample), "--repo-id", REPO_ID, "--allow-partial"]
    return main(["publish", *common, "--cache-dir", str(tmp_path / "cache"), "--quiet", "--size", "64", *extra])


def test_dry_run_command_needs_no_token(real_sample, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))
    out = tmp_path / "staged"
    code = publish_command(real_sample, tmp_path, "--dry-run", str(out))
    assert code == 0
    assert (out / "README.md").is_file()
    assert "pad-64/train-00000-of-00001.parquet" in capsys.readouterr().out


def test_small_shard_size_gives_several_shards(real_build, tmp_path):
    staged = publish.stage(real_build, REPO_ID, tmp_path / "out", "100KB", allow_partial=True)
    train = [name for name in staged.files if name.startswith("pad-512/train-")]
    assert len(train) > 1 and train[0].endswith(f"-of-{len(train):05d}.parquet")
    loaded = load_dataset(str(tmp_path / "out"), "pad-512", cache_dir=str(tmp_path / "c"))
    assert loaded["train"]["image_id"] == real_build.dataset["train"]["image_id"]


def test_refuses_a_non_empty_output(real_build, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(UsageError, match="not written by skin-cancer"):
            publish.stage(real_build, REPO_ID, tmp_path / "out", "500MB", allow_partial=True, overwrite=overwrite)
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["keep.txt"]


class RecordingHubApi:
    """Stands in for huggingface_hub.HfApi: the Hub cannot be reached from the test machines.

    It records every call so the test can check exactly what would be sent, keeps the repository's
    files and commit like the Hub does (deleting by `delete_patterns`, skipping `ignore_patterns`,
    refusing a stale `parent_commit` with HTTP 412), and can fail like the real Hub does.
    """

    def __init__(self, user="isic-lab", orgs=(), fail_with: Exception | None = None, files=None):
        self.calls: list[tuple[str, dict]] = []
        self.user, self.orgs, self.fail_with = user, orgs, fail_with
        self.files: dict[str, bytes] | None = files  # None: the repository does not exist yet
        self.commits = 0 if files is None else 1

    @property
    def sha(self) -> str:
        return f"{self.commits:040d}"

    def whoami(self, token=None):
        self.calls.append(("whoami", {"token": token}))
        if self.fail_with:
            raise self.fail_with
        return {"name": self.user, "orgs": [{"name": org} for org in self.orgs]}

    def repo_info(self, repo_id, **kwargs):
        from huggingface_hub.utils import RepositoryNotFoundError

        self.calls.append(("repo_info", {"repo_id": repo_id, **kwargs}))
        if self.fail_with:
            raise self.fail_with
        if self.files is None:
            raise RepositoryNotFoundError(
                f"{repo_id} not found", response=hub_http_error(404, "Repository not found").response
            )

        class Info:
            sha = self.sha

        return Info()

    def hf_hub_download(self, repo_id, filename, **kwargs):
        self.calls.append(("hf_hub_download", {"repo_id": repo_id, "filename": filename, **kwargs}))
        path = Path(tempfile.mkdtemp()) / filename
        path.write_bytes(self.files[filename])
        return str(path)

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        if self.files is None:
            self.files = {}

    def create_branch(self, repo_id, **kwargs):
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs):
        folder = Path(kwargs["folder_path"])
        ignored = kwargs.get("ignore_patterns") or []
        files = sorted(
            name
            for name in (str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
            if not any(fnmatch.fnmatch(name, pattern) for pattern in ignored)  # as HfApi.upload_folder filters
        )
        self.uploaded_bytes = b"".join((folder / name).read_bytes() for name in files)
        self.calls.append(("upload_folder", {**kwargs, "files": files}))
        parent = kwargs.get("parent_commit")
        if parent is not None and parent != self.sha:
            raise hub_http_error(412, "A commit has happened since. Please refresh and try again.")
        deleted = kwargs.get("delete_patterns") or []
        kept = {
            name: data
            for name, data in (self.files or {}).items()
            if not any(fnmatch.fnmatch(name, pattern) for pattern in deleted)
        }
        self.files = {**kept, **{name: (folder / name).read_bytes() for name in files}}
        self.commits += 1

        class Commit:
            commit_url = f"https://huggingface.co/datasets/{kwargs['repo_id']}/commit/abc"
            pr_url = None

        return Commit()


def test_upload_creates_a_dataset_repo_and_commits_the_staged_folder_once(dry_run, real_build):
    files = sorted(
        str(p.relative_to(dry_run)) for p in dry_run.rglob("*") if p.is_file() and not p.name.startswith(".")
    )
    staged = publish.StagedRepo(dry_run, files, True)
    api = RecordingHubApi()
    message = publish.commit_message(real_build)
    url = publish.upload(staged, REPO_ID, SECRET, message, private=True, api=api)
    names = [name for name, _ in api.calls]
    assert names == ["whoami", "create_repo", "upload_folder"]
    create = dict(api.calls[1][1])
    assert create["repo_type"] == "dataset" and create["private"] is True and create["exist_ok"] is True
    upload = api.calls[2][1]
    assert upload["repo_type"] == "dataset"
    assert upload["files"] == staged.files
    assert upload["commit_message"] == f"Upload ISIC-2017 pad-512, skin_cancer builder {skin_cancer.BUILDER_VERSION}"
    assert upload["delete_patterns"] == ["pad-512/*.parquet"]
    assert url.endswith("/commit/abc")


def test_revision_creates_the_branch_first(dry_run):
    staged = publish.StagedRepo(dry_run, [], True)
    api = RecordingHubApi()
    publish.upload(staged, REPO_ID, SECRET, "m", revision="v1", api=api)
    assert [name for name, _ in api.calls] == ["whoami", "create_repo", "create_branch", "upload_folder"]
    assert api.calls[3][1]["revision"] == "v1"


def test_token_never_reaches_output_or_staged_files(real_sample, tmp_path, monkeypatch, capsys):
    api = RecordingHubApi()
    monkeypatch.setattr("huggingface_hub.HfApi", lambda *args, **kwargs: api)
    code = publish_command(real_sample, tmp_path, "--token", SECRET)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert SECRET not in out and SECRET not in err
    assert all(call[1].get("token") == SECRET for call in api.calls)  # it is only handed to the API
    assert SECRET.encode() not in api.uploaded_bytes
    assert "Published 9 files" in out


# The errors below are the ones the installed huggingface_hub really raises: HTTP errors come from its own
# hf_raise_for_status on a response of its own HTTP client (requests in 0.x, httpx in 1.x, httpx2 in 2.x),
# network errors from its own session trying a closed local port. Only the HfApi calls are stood in for.
HUB_MAJOR = int(huggingface_hub.__version__.split(".")[0])
WHOAMI_URL = "https://huggingface.co/api/whoami-v2"


def hub_http_error(status: int, hub_message: str) -> Exception:
    from huggingface_hub.utils import hf_raise_for_status

    body = json.dumps({"error": hub_message}).encode()
    if HUB_MAJOR == 0:
        import requests

        response = requests.Response()
        response.status_code, response._content, response.url = status, body, WHOAMI_URL
        response.headers["Content-Type"] = "application/json"
        response.request = requests.Request("GET", WHOAMI_URL).prepare()
    else:
        http = importlib.import_module("httpx2" if HUB_MAJOR >= 2 else "httpx")
        response = http.Response(
            status, content=body, headers={"Content-Type": "application/json"}, request=http.Request("GET", WHOAMI_URL)
        )
    try:
        hf_raise_for_status(response)
    except Exception as error:
        return error
    raise AssertionError(f"huggingface_hub accepted HTTP {status}")


def hub_network_error() -> Exception:
    from huggingface_hub.utils import get_session

    try:
        get_session().get("http://127.0.0.1:9/api/whoami-v2")  # the discard port: nothing listens
    except Exception as error:
        return error
    raise AssertionError("something answered on 127.0.0.1:9")


def local_error(kind: str, tmp_path: Path) -> OSError:
    if kind == "missing-file":
        try:
            (tmp_path / "gone.parquet").open("rb")
        except OSError as error:
            return error
    if kind == "permission":
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / "data" / "train.parquet"))
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "cache" / "chunk"))


def upload_with(api, tmp_path: Path) -> None:
    publish.upload(publish.StagedRepo(tmp_path, [], True), REPO_ID, SECRET, "m", api=api)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "token was rejected"),
        (403, "may not write to isic-lab/isic-2017-512"),
        (409, "is not a dataset repository you can write to"),
        (500, r"the Hub refused the request for isic-lab/isic-2017-512 \(HTTP 500\): Internal Error - try later"),
        (400, r"\(HTTP 400\): Bad request: the commit is too large"),
    ],
)
def test_hub_http_errors_are_one_clear_line_with_the_cause_kept(status, message, tmp_path):
    hub_message = {500: "Internal Error - try later", 400: "Bad request: the commit is too large"}.get(status, "no")
    error = hub_http_error(status, hub_message)
    with pytest.raises(PublishError, match=message) as caught:
        upload_with(RecordingHubApi(fail_with=error), tmp_path)
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.__cause__ is error, "--debug shows the Hub's own error as the cause"


def test_network_errors_of_the_hub_client_are_recognised(tmp_path):
    error = hub_network_error()
    with pytest.raises(PublishError, match="cannot reach the Hugging Face Hub") as caught:
        upload_with(RecordingHubApi(fail_with=error), tmp_path)
    assert caught.value.__cause__ is error


@pytest.mark.parametrize("kind", ["missing-file", "permission", "disk-full"])
def test_local_file_errors_are_reported_as_local(kind, tmp_path):
    error = local_error(kind, tmp_path)
    with pytest.raises(PublishError, match="a local file error stopped the upload") as caught:
        upload_with(RecordingHubApi(fail_with=error), tmp_path)
    message = str(caught.value)
    assert "reach the Hugging Face Hub" not in message and error.strerror in message and error.filename in message
    assert caught.value.__cause__ is error


def test_other_owner_is_named(tmp_path):
    api = RecordingHubApi(user="someone-else", orgs=("other-org",))
    with pytest.raises(PublishError, match="belongs to 'isic-lab', but this token is for 'someone-else'"):
        upload_with(api, tmp_path)


def test_a_programming_error_is_not_disguised(tmp_path):
    with pytest.raises(KeyError):
        upload_with(RecordingHubApi(fail_with=KeyError("name")), tmp_path)


def test_command_prints_one_line_and_debug_shows_the_cause(tmp_path, monkeypatch, capsys):
    error = hub_http_error(500, "Internal Error - try later")
    monkeypatch.setattr("huggingface_hub.HfApi", lambda *args, **kwargs: RecordingHubApi(fail_with=error))
    command = ["publish", "--sample", "--repo-id", REPO_ID, "--token", SECRET, "--allow-partial", "--quiet"]
    command += ["--size", "16", "--cache-dir", str(tmp_path / "cache")]
    assert main(command) == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("warning: found")]  # the partial sample
    assert errors == [
        "error: the Hub refused the request for isic-lab/isic-2017-512 (HTTP 500): Internal Error - try later"
    ]
    assert SECRET not in err
    with pytest.raises(PublishError) as caught:
        main([*command, "--debug"])
    assert caught.value.__cause__ is error


def test_missing_token_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no-login"))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-login" / "token"))
    code = main(["publish", "--sample", "--repo-id", REPO_ID])
    err = capsys.readouterr().err
    assert code == 1 and "no Hugging Face token" in err and "HF_TOKEN" in err


@pytest.mark.parametrize("repo_id", ["no-owner", "a/b/c", "bad name/x"])
def test_invalid_repo_id_is_usage_error(repo_id, capsys):
    code = main(["publish", "--sample", "--repo-id", repo_id, "--dry-run", "/tmp/never-written"])
    assert code == 2
    assert "invalid --repo-id" in capsys.readouterr().err


def test_staged_images_keep_their_encoding(dry_run):
    import pyarrow.parquet as pq

    table = pq.read_table(dry_run / "pad-512" / "valid-00000-of-00001.parquet")
    first = table.column("image")[0].as_py()
    assert Image.open(io.BytesIO(first["bytes"])).format == "JPEG"
    assert Image.open(io.BytesIO(table.column("mask")[0].as_py()["bytes"])).format == "PNG"


def test_staging_twice_gives_identical_files(real_build, dry_run, tmp_path):
    """Unchanged data must stage byte-identical files, so a re-run uploads nothing new."""
    again = publish.stage(real_build, REPO_ID, tmp_path / "again", "500MB", allow_partial=True)
    for name in again.files:
        assert (tmp_path / "again" / name).read_bytes() == (dry_run / name).read_bytes(), name


@pytest.fixture(scope="module")
def center_crop_build(real_sample, tmp_path_factory):
    from skin_cancer.options import BuildOptions

    cache = tmp_path_factory.mktemp("publish-cache-crop")
    return prepare_dataset(str(real_sample), BuildOptions(64, "center_crop"), cache_dir=str(cache))


def test_two_variants_stage_as_two_configurations(real_build, center_crop_build, tmp_path):
    out = tmp_path / "repo"
    staged = publish.stage([real_build, center_crop_build], REPO_ID, out, "500MB", allow_partial=True)
    assert staged.configs == ["pad-512", "center_crop-64", "native_masks"]
    metadata = card_metadata(out)
    configs = {config["config_name"]: config for config in metadata["configs"]}
    assert configs["pad-512"].get("default") is True and "default" not in configs["center_crop-64"]
    body = (out / "README.md").read_text()
    assert "| `pad-512` (default) | 8 | 3 | 3 |" in body and "| `center_crop-64` | 8 | 3 | 3 |" in body
    for name, build in (("pad-512", real_build), ("center_crop-64", center_crop_build)):
        loaded = load_dataset(str(out), name, cache_dir=str(tmp_path / "c"))
        assert {split: len(part) for split, part in loaded.items()} == REAL_COUNTS
        assert loaded["valid"][0]["mask"].size == (build.options.size, build.options.size)
        assert np.array_equal(np.asarray(loaded["valid"][0]["mask"]), np.asarray(build.dataset["valid"][0]["mask"]))
        for row in loaded["train"]:
            mask = row["mask"]
            assert np.unique(np.array(mask)).tolist() == [0, 1], "class indices where there is a lesion"
            assert np.unique(np.array(mask.convert("L"))).tolist() == [0, 255], "ISIC's {0, 255} in one call"
    assert json.loads((out / "id2label.json").read_text()) == {"0": "background", "1": "lesion"}


def test_a_second_variant_keeps_the_first_on_the_hub(real_build, center_crop_build, tmp_path):
    """Publish pad-512, then center_crop-64 into the same repository: the first survives untouched."""
    api = RecordingHubApi()
    first = publish.stage(real_build, REPO_ID, tmp_path / "first", "500MB", allow_partial=True)
    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    assert remote == publish.RemoteState(None, None)
    publish.upload(first, REPO_ID, SECRET, "first", api=api, parent_commit=remote.commit)
    first_shards = {name: data for name, data in api.files.items() if name.startswith("pad-512/")}
    assert len(first_shards) == 3

    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    assert remote.card is not None and set(remote.card.configs) == {"pad-512", "native_masks"}
    assert remote.commit == api.sha
    second = publish.stage(
        center_crop_build, REPO_ID, tmp_path / "second", "500MB", allow_partial=True, existing=remote.card
    )
    publish.upload(second, REPO_ID, SECRET, "second", api=api, parent_commit=remote.commit)
    upload = api.calls[-1][1]
    assert not [name for name in upload["files"] if name.startswith("pad-512/")], "only the new variant is uploaded"
    assert upload["delete_patterns"] == ["center_crop-64/*.parquet", "native_masks/*.parquet"]
    assert {name: data for name, data in api.files.items() if name.startswith("pad-512/")} == first_shards
    card = card_metadata_text(api.files["README.md"].decode())
    assert {config["config_name"] for config in card["configs"]} == {"pad-512", "center_crop-64", "native_masks"}
    defaults = [config["config_name"] for config in card["configs"] if config.get("default")]
    assert defaults == ["pad-512"], "load_dataset(repo) keeps giving what it gave: the default stays"
    assert second.default == "pad-512"
    infos = {info["config_name"]: info for info in card["dataset_info"]}
    assert {split["name"]: split["num_examples"] for split in infos["pad-512"]["splits"]} == REAL_COUNTS
    # The kept configuration stays whole: its YAML record and its description line, ceiling included.
    first_card = (tmp_path / "first" / "README.md").read_text()
    assert (
        card["skin_cancer"]["variants"]["pad-512"]
        == card_metadata(tmp_path / "first")["skin_cancer"]["variants"]["pad-512"]
    )
    first_line = next(line for line in first_card.splitlines() if line.startswith("- `pad-512`:"))
    assert "Resolution ceiling" in first_line and first_line in api.files["README.md"].decode().splitlines()

    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    third = publish.stage(
        center_crop_build, REPO_ID, tmp_path / "third", "500MB", True, existing=remote.card, set_default=True
    )
    card = card_metadata(tmp_path / "third")
    assert [config["config_name"] for config in card["configs"] if config.get("default")] == ["center_crop-64"]
    assert third.default == "center_crop-64"


def card_metadata_text(text: str) -> dict:
    return yaml.safe_load(text.split("---\n")[1])


def test_a_commit_made_meanwhile_stops_the_upload(dry_run, real_build, tmp_path):
    api = RecordingHubApi(files={"README.md": (dry_run / "README.md").read_bytes()})
    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    api.commits += 1  # someone else commits between our read and our upload
    staged = publish.stage(real_build, REPO_ID, tmp_path / "s", "500MB", allow_partial=True, existing=remote.card)
    before = dict(api.files)
    with pytest.raises(PublishError, match="someone else committed") as caught:
        publish.upload(staged, REPO_ID, SECRET, "m", api=api, parent_commit=remote.commit)
    assert "\n" not in str(caught.value) and api.files == before


def test_card_metadata_breaking_the_hub_rules_is_refused():
    from skin_cancer.hub.card import check_hub_rules

    good = {
        "license": "cc0-1.0",
        "task_categories": ["image-segmentation"],
        "size_categories": ["n<1K"],
        "annotations_creators": ["expert-generated"],
        "source_datasets": ["extended|isic-2017"],
    }
    check_hub_rules(good)
    for key, value in [
        ("size_categories", ["tiny"]),
        ("annotations_creators", ["doctors"]),
        ("task_categories", ["lesion-finding"]),
        ("source_datasets", ["derived from isic"]),
        ("license", "CC 0"),
        ("language", ["en"]),
    ]:
        with pytest.raises(CardError, match=key):
            check_hub_rules({**good, key: value})


def test_variant_option_on_the_command_line(real_sample, tmp_path, capsys):
    out = tmp_path / "staged"
    code = publish_command(
        real_sample, tmp_path, "--dry-run", str(out), "--variant", "64:pad", "--variant", "32:stretch"
    )
    assert code == 0, capsys.readouterr().err
    assert (out / "pad-64").is_dir() and (out / "stretch-32").is_dir()
    assert main(["publish", "--sample", "--repo-id", REPO_ID, "--variant", "64", "--dry-run", str(tmp_path / "x")]) == 2


def test_staging_is_byte_identical_for_every_num_proc(real_sample, dry_run, tmp_path):
    """datasets counts a 2-process build a few bytes larger; the staged card and shards must not differ."""
    two = prepare_dataset(str(real_sample), num_proc=2, cache_dir=str(tmp_path / "cache"))
    assert len(two.builder.info.splits["train"].shard_lengths or []) == 2, "really two jobs"
    staged = publish.stage(two, REPO_ID, tmp_path / "two", "500MB", allow_partial=True)
    for name in staged.files:
        assert (tmp_path / "two" / name).read_bytes() == (dry_run / name).read_bytes(), name


def test_native_masks_are_the_original_isic_files_byte_for_byte(dry_run, real_sample, tmp_path):
    from skin_cancer.releases import RELEASES

    SPLITS = RELEASES["isic2017"].splits
    loaded = load_dataset(str(dry_run), "native_masks", cache_dir=str(tmp_path))
    raw = {split: part.cast_column("mask", ImageFeature(decode=False)) for split, part in loaded.items()}
    for split in SPLITS:
        rows = list(raw[split.name])
        assert len(rows) == REAL_COUNTS[split.name]
        for row in rows:
            original = real_sample / split.mask_folder / f"{row['image_id']}_segmentation.png"
            assert row["mask"]["bytes"] == original.read_bytes()
    metadata = card_metadata(dry_run)
    native = [config for config in metadata["configs"] if config["config_name"] == "native_masks"]
    assert native and not native[0].get("default")


def test_the_card_states_the_resolution_ceiling_of_each_variant(dry_run, real_build):
    from skin_cancer.evaluate import ceiling_predictions, score, truth_from_build

    truth = truth_from_build(real_build, "test")
    expected = score(ceiling_predictions(truth), truth).summary["native"]["jaccard"]
    body = " ".join((dry_run / "README.md").read_text().split())
    assert 0.9 < expected < 1.0
    assert f"score a mean Jaccard of {expected:.4f} on the test split" in body
    assert "`native_masks` configuration" in body


def test_a_repository_of_another_release_is_refused(real_build, tmp_path):
    from skin_cancer.tools.sample import write_sample_tree

    tree = write_sample_tree(tmp_path / "sample2018", release="isic2018")
    other = prepare_dataset(str(tree), cache_dir=str(tmp_path / "c"), release="isic2018")
    existing = publish.ExistingCard.parse((_staged(real_build, tmp_path / "first") / "README.md").read_text())
    with pytest.raises(PublishError, match="publish each release to its own repository"):
        publish.stage(other, REPO_ID, tmp_path / "second", "500MB", allow_partial=True, existing=existing)
    assert not (tmp_path / "second").exists()


def test_a_variant_built_from_other_pairs_is_refused(real_build, real_sample, tmp_path):
    from skin_cancer.options import BuildOptions

    existing = publish.ExistingCard.parse((_staged(real_build, tmp_path / "first") / "README.md").read_text())
    smaller = tmp_path / "smaller"
    shutil.copytree(real_sample, smaller)
    for image in sorted((smaller / "ISIC-2017_Training_Data").glob("*.jpg"))[:2]:
        image.unlink()
        (smaller / "ISIC-2017_Training_Part1_GroundTruth" / f"{image.stem}_segmentation.png").unlink()
    build = prepare_dataset(str(smaller), BuildOptions(64, "stretch"), cache_dir=str(tmp_path / "c"))
    with pytest.raises(PublishError, match="holds 8/3/3 pairs but this build holds 6/3/3"):
        publish.stage(build, REPO_ID, tmp_path / "second", "500MB", allow_partial=True, existing=existing)


def test_a_repository_published_by_version_1_is_upgraded_in_one_commit(real_build, dry_run, tmp_path):
    """1.x published one "default" configuration in data/ with {0, 255} masks: it is replaced, not merged."""
    import datasets
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard, DatasetCardData

    card_data = DatasetCardData(license="cc0-1.0", source_datasets=["original"])
    files = [{"split": split, "path": f"data/{split}-*.parquet"} for split in REAL_COUNTS]
    MetadataConfigs({"default": {"data_files": files}}).to_dataset_card_data(card_data)
    info = datasets.DatasetInfo(
        splits=datasets.SplitDict({s: datasets.SplitInfo(s, 1, n) for s, n in REAL_COUNTS.items()})
    )
    datasets.info.DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    old_card = str(DatasetCard(f"---\n{card_data.to_yaml()}\n---\n\n# old\n"))
    api = RecordingHubApi(files={"README.md": old_card.encode(), "data/train-00000-of-00001.parquet": b"old"})
    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    staged = publish.stage(real_build, REPO_ID, tmp_path / "s", "500MB", allow_partial=True, existing=remote.card)
    publish.upload(staged, REPO_ID, SECRET, "m", api=api, parent_commit=remote.commit)
    assert "data/train-00000-of-00001.parquet" not in api.files
    configs = card_metadata_text(api.files["README.md"].decode())["configs"]
    assert "default" not in {config["config_name"] for config in configs}


def _staged(build, folder):
    publish.stage(build, REPO_ID, folder, "500MB", allow_partial=True)
    return folder


def _edited_card(text: str, edit) -> str:
    """The card with its YAML changed by `edit(metadata)` and its body as given back, as a person edits it."""
    from huggingface_hub import DatasetCard

    card = DatasetCard(text)
    metadata = card.data.to_dict()
    body = edit(metadata, card.text)
    return f"---\n{yaml.safe_dump(metadata, sort_keys=False)}---\n{body}"


def _publish_over(card_text: str, build, tmp_path: Path, name: str, **kwargs):
    api = RecordingHubApi(files={"README.md": card_text.encode(), "pad-512/train-00000-of-00001.parquet": b"x"})
    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    staged = publish.stage(build, REPO_ID, tmp_path / name, "500MB", allow_partial=True, existing=remote.card, **kwargs)
    publish.upload(staged, REPO_ID, SECRET, "m", api=api, parent_commit=remote.commit)
    return api.files["README.md"].decode()


def test_what_a_person_wrote_in_the_card_is_kept(dry_run, center_crop_build, tmp_path):
    """pretty_name, a gating prompt, a custom tag and a hand-written section survive publishing another variant."""
    own_section = "## Our lab's notes\n\nWe use the valid split for early stopping only.\n"
    last = "## Notes at the end\n\nThis one follows the last section.\n"

    def edit(metadata, body):
        metadata["pretty_name"] = "ISIC 2017 at 512, as our lab uses it"
        metadata["extra_gated_prompt"] = "Agree to cite ISIC."
        metadata["extra_gated_fields"] = {"Affiliation": "text"}
        metadata["tags"] = [*metadata["tags"], "our-lab"]
        body = body.replace("## Train with it", own_section + "\n## Train with it")
        return body.rstrip("\n") + "\n\n" + last

    edited = _edited_card((dry_run / "README.md").read_text(), edit)
    text = _publish_over(edited, center_crop_build, tmp_path, "s")
    metadata = card_metadata_text(text)
    assert metadata["pretty_name"] == "ISIC 2017 at 512, as our lab uses it"
    assert metadata["extra_gated_prompt"] == "Agree to cite ISIC." and metadata["extra_gated_fields"] == {
        "Affiliation": "text"
    }
    assert "our-lab" in metadata["tags"] and "dermoscopy" in metadata["tags"]
    body = text.split("---\n", 2)[2]
    assert own_section in body and body.index("## Load it") < body.index(own_section) < body.index("## Train with")
    assert body.rstrip().endswith(last.rstrip())
    assert "center_crop-64" in {config["config_name"] for config in metadata["configs"]}
    # ... and again: the hand-written sections are not the publisher's, so they stay on every publish.
    again = _publish_over(text, center_crop_build, tmp_path, "s2")
    assert again.split("---\n", 2)[2].count(own_section) == 1 and last in again


def test_a_hand_edit_inside_a_generated_section_is_refused_naming_it(dry_run, center_crop_build, tmp_path):
    def edit(metadata, body):
        return body.replace("## Known limitations\n", "## Known limitations\n\n- Our own caveat.\n")

    edited = _edited_card((dry_run / "README.md").read_text(), edit)
    api = RecordingHubApi(files={"README.md": edited.encode()})
    remote = publish.read_remote(REPO_ID, SECRET, api=api)
    with pytest.raises(skin_cancer.SkinCancerError, match="edited by hand in '## Known limitations'") as caught:
        publish.stage(center_crop_build, REPO_ID, tmp_path / "s", "500MB", True, existing=remote.card)
    assert "\n" not in str(caught.value) and not (tmp_path / "s").exists()


def test_a_kept_configuration_without_dataset_info_stays_in_the_card(dry_run, center_crop_build, tmp_path):
    def edit(metadata, body):
        metadata["dataset_info"] = [info for info in metadata["dataset_info"] if info["config_name"] != "pad-512"]
        return body

    edited = _edited_card((dry_run / "README.md").read_text(), edit)
    metadata = card_metadata_text(_publish_over(edited, center_crop_build, tmp_path, "s"))
    configs = {config["config_name"]: config for config in metadata["configs"]}
    assert set(configs) == {"pad-512", "center_crop-64", "native_masks"}, "its shards stay, so must its entry"
    assert configs["pad-512"]["data_files"] == [{"split": s, "path": f"pad-512/{s}-*.parquet"} for s in REAL_COUNTS]
    assert configs["pad-512"].get("default") is True


def test_set_default_on_the_command_line(dry_run, real_sample, tmp_path, monkeypatch, capsys):
    api = RecordingHubApi(files={"README.md": (dry_run / "README.md").read_bytes()})
    monkeypatch.setattr("huggingface_hub.HfApi", lambda *args, **kwargs: api)
    # The dry_run fixture staged every image (as stage() does by default), so this publish keeps them all too.
    keep_all = "--include-unknown-license"
    assert publish_command(real_sample, tmp_path, "--token", SECRET, "--resize-mode", "stretch", keep_all) == 0
    assert "Default configuration: pad-512 (kept;" in capsys.readouterr().out
    defaults = [
        c["config_name"] for c in card_metadata_text(api.files["README.md"].decode())["configs"] if c.get("default")
    ]
    assert defaults == ["pad-512"]
    assert (
        publish_command(real_sample, tmp_path, "--token", SECRET, "--resize-mode", "stretch", "--set-default", keep_all)
        == 0
    )
    assert "Default configuration: stretch-64\n" in capsys.readouterr().out
    defaults = [
        c["config_name"] for c in card_metadata_text(api.files["README.md"].decode())["configs"] if c.get("default")
    ]
    assert defaults == ["stretch-64"]


def test_the_card_records_every_configuration_s_build_options_in_its_yaml(dry_run):
    variants = card_metadata(dry_run)["skin_cancer"]["variants"]
    assert set(variants) == {"pad-512"}
    record = dict(variants["pad-512"])
    assert 0.9 < record.pop("resolution_ceiling") < 1.0
    assert record == {
        "release": "isic2017",
        "size": 512,
        "resize_mode": "pad",
        "image_format": "jpeg",
        "builder_version": skin_cancer.BUILDER_VERSION,
    }


def test_shards_have_at_most_100_rows_per_row_group_and_feed_four_workers(tmp_path):
    """The staged Parquet metadata, read with pyarrow: row groups of at most 100 rows whatever `datasets`
    would choose, and a split of 450 rows written as at least four shards (one per streaming worker)."""
    import types

    import datasets
    import pyarrow.parquet as pq

    from skin_cancer.options import MIN_SHARDS, ROWS_PER_ROW_GROUP
    from skin_cancer.tools.export import write_split_shards

    buffer = io.BytesIO()
    Image.new("L", (4, 4)).save(buffer, format="PNG")
    rows = 450
    split = datasets.Dataset.from_dict(
        {
            "image_id": [f"ISIC_{i:07d}" for i in range(rows)],
            "mask": [{"bytes": buffer.getvalue(), "path": None}] * rows,
        },
        features=datasets.Features({"image_id": datasets.Value("string"), "mask": ImageFeature()}),
    )
    build = types.SimpleNamespace(dataset={"train": split})
    written = write_split_shards(build, "train", tmp_path, "500MB", "pad-512")  # type: ignore[arg-type]
    assert len(written) >= MIN_SHARDS
    groups = []
    for name in written:
        metadata = pq.ParquetFile(tmp_path / name).metadata
        groups += [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    assert max(groups) <= ROWS_PER_ROW_GROUP and sum(groups) == rows
    # With a small max shard size the size rule still decides, and the four-shard floor holds.
    assert len(write_split_shards(build, "train", tmp_path / "small", "100KB", "x")) >= MIN_SHARDS  # type: ignore[arg-type]


def test_staged_row_groups_are_at_most_100_rows(dry_run):
    import pyarrow.parquet as pq

    for path in dry_run.rglob("*.parquet"):
        metadata = pq.ParquetFile(path).metadata
        assert all(metadata.row_group(i).num_rows <= 100 for i in range(metadata.num_row_groups)), path


# --- every release's card (hostile review of issue 17): staged from each release's built-in sample ---------


@pytest.fixture(scope="module")
def release_cards(tmp_path_factory) -> dict[str, str]:
    """{release: the body of the card `publish --sample --release R --dry-run` stages}, for every release."""
    from skin_cancer.releases import RELEASES

    root = tmp_path_factory.mktemp("release-cards")
    cards = {}
    for name in RELEASES:
        out = root / name
        argv = ["publish", "--sample", "--release", name, "--size", "32", "--repo-id", "me/x", "--allow-partial"]
        assert main([*argv, "--dry-run", str(out), "--cache-dir", str(root / "cache"), "--quiet"]) == 0
        cards[name] = (out / "README.md").read_text().split("\n---\n", 1)[1]
    return cards


def markdown_tables(text: str) -> list[list[str]]:
    """Every run of consecutive lines starting with `|` outside code blocks: a table's lines."""
    tables, current, fenced = [], [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("|"):
            current.append(line)
            continue
        if current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def assert_valid_tables(body: str, name: str = "") -> None:
    """Every table of a card: header cells == separator cells == each row's cells, no empty header, some rows."""
    for table in markdown_tables(body):
        header, separator, *rows = table + [""] * (2 - len(table))
        assert set("".join(cells(separator))) <= set("-:") and cells(separator)[0], (name, table)
        assert all(cell for cell in cells(header)), (name, table)  # no empty header cell
        assert len(cells(header)) == len(cells(separator)), (name, table)
        assert rows, (name, table)  # a table with no rows says nothing: a sentence says so instead
        assert all(len(cells(row)) == len(cells(header)) for row in rows), (name, table)


def test_every_table_of_every_release_card_is_a_valid_table(release_cards):
    for name, body in release_cards.items():
        assert_valid_tables(body, name)


def test_cards_of_non_isic_releases_say_their_own_facts(release_cards):
    ph2, ham, ima, isic = (
        release_cards["ph2"],
        release_cards["ham10000"],
        release_cards["imaplusplus"],
        release_cards["isic2017"],
    )
    # PH2 has only `test`: no training snippet on a `train` split, no recipe command, but how to evaluate.
    assert 'split="train"' not in ph2 and "skin_cancer.hub.recipes" not in ph2 and "hold out part of train" not in ph2
    assert "## Evaluate with it" in ph2 and "external test set" in ph2 and 'ds["test"][0]' in ph2
    assert 'split="train"' in isic and "## Train with it" in isic  # the ISIC cards keep their recipes
    for name, body in (("ph2", ph2), ("ham10000", ham), ("imaplusplus", ima)):
        assert "original ISIC mask PNGs" not in body, name
        assert "PH2 Dataset images / PH2 Dataset images" not in body and "Splits, as published" not in body, name
    assert "original ISIC mask PNGs" in isic and "Splits, as published: `train` = ISIC-2017_Training_Data" in isic
    assert "ISIC\nArchive removed identifying information" not in ph2 and "contributed to the ISIC Archive" not in ph2
    assert "Hospital Pedro Hispano (Matosinhos, Portugal)" in ph2 and "lesion.bmp" in ph2
    assert "contributed to the ISIC Archive" not in ham and "Vienna" in ham
    assert "no official split; all its images form one split, `test`" in ph2
    # HAM10000 and IMA++ have no official split: their `valid` is made by a rule, and folds are theirs.
    assert "the official `valid` split" not in ham and "the `valid` split made by the lesion rule" in ham
    assert "the official `valid` split" not in ima and "the `valid` split made by the patient rule" in ima
    assert "grouped by the `lesion_id` of HAM10000's metadata table" in ham
    assert "hash bucket" in ima and "grouped by patient, else lesion" not in ima
    assert "always null: PH2 has no `train` split" in ph2
    # IMA++'s licence points at its own sources, not at ISIC zips it does not have.
    assert "LICENSE.txt in the official zips" not in ima and "Zenodo record" in ima
    # IMA++'s masks are CC BY-NC-ND 4.0: the square masks are modified material, so its card forbids the upload.
    assert "CC BY-NC-ND 4.0" in ima and "**Do not upload this folder.**" in ima
    assert "**Do not upload this folder.**" not in ham and "**Do not upload this folder.**" not in isic
    assert "PH2 images are not ISIC ids" in ph2
    assert "several devices and clinics" not in ph2 and "several devices and clinics" in isic
    assert 'ds["train"]' not in ph2 and 'ds["train"].filter' in isic  # no snippet on a split PH2 lacks


def test_ph2_is_never_uploaded_and_its_staged_card_says_so(ph2_sample, tmp_path, monkeypatch, capsys):
    api = RecordingHubApi()
    monkeypatch.setattr("huggingface_hub.HfApi", lambda *args, **kwargs: api)
    common = ["publish", "--data-dir", str(ph2_sample), "--release", "ph2", "--size", "32", "--repo-id", "me/ph2"]
    common += ["--allow-partial", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*common, "--token", SECRET]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("warning:")]
    assert len(errors) == 1 and "refusing to upload PH2" in errors[0] and "redistributing" in errors[0]
    assert api.calls == []  # refused before the token, the build and any request (the Hub's card included)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.arrow"))
    # Staging a local copy (for `evaluate --dataset`) stays allowed; its card says it must not be uploaded.
    assert main([*common, "--dry-run", str(tmp_path / "out")]) == 0
    assert "**Do not upload this folder.**" in (tmp_path / "out" / "README.md").read_text()


def test_upload_refuses_a_release_that_forbids_redistribution_before_any_request(tmp_path):
    staged = publish.StagedRepo(tmp_path, [], False, redistributable=False, release="PH2")
    api = RecordingHubApi()
    with pytest.raises(UsageError, match="refusing to upload PH2"):
        publish.upload(staged, REPO_ID, SECRET, "m", api=api)
    assert api.calls == []
    from skin_cancer.releases import RELEASES

    forbidden = [name for name, release in RELEASES.items() if not release.redistributable]
    assert forbidden == ["ph2", "imaplusplus"]  # PH2's terms; IMA++'s masks are CC BY-NC-ND 4.0 (no derivatives)
    for name in forbidden:
        with pytest.raises(UsageError, match="forbid redistributing"):
            publish.check_redistributable(RELEASES[name])
    publish.check_redistributable(RELEASES["isic2017"])  # no error
