"""What a user installs: the sdist and wheel are complete, and the installed wheel runs every command.

The slow tests build the sdist and, from it, the wheel (`python -m build`, the dev extra), install the
wheel with its `plots` extra into a new virtual environment outside this checkout (dependencies from
the package index, pinned to the `datasets` and `huggingface_hub` versions of the running environment,
so each end of the range CI tests is also tested installed), and run the commands from a folder that
is not the checkout. The others need no network: a broken installation, and a clone without ../shared.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from .helpers import PROJECT_ROOT, REQUIRE_SHARED

SDIST_MUST_HOLD = [
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "dataset_card.md",
    "skin_cancer/dataset_card.md",
    "tests/conftest.py",
    "tests/test_packaging.py",
    "scripts/publish.py",
    "benchmarks/bench_prepare.py",
    "benchmarks/seed_generator.py",
    ".ci/run",
]
REPO_ID = "isic-lab/isic-2017-512"


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 900) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    if importlib.util.find_spec("build") is None:
        pytest.fail("the packaging tests need `build`, part of the dev extra: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("dist")
    # Without an argument, build makes the sdist and then the wheel *from the sdist*: an incomplete sdist fails here.
    run([sys.executable, "-m", "build", "--outdir", str(out), str(PROJECT_ROOT)], cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A new virtual environment outside the checkout, with the wheel and its plots extra installed."""
    root = tmp_path_factory.mktemp("venv")
    run([sys.executable, "-m", "venv", str(root / "env")], cwd=root)
    (wheel,) = dist.glob("*.whl")
    # The same ends of the dependency ranges as the environment running the tests (pip's cache keeps it quick).
    pins = [f"{name}=={metadata.version(name)}" for name in ("datasets", "huggingface_hub")]
    (root / "constraints.txt").write_text("\n".join(pins) + "\n")
    pip = [str(root / "env" / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", "constraints.txt"]
    run([*pip, f"skin-cancer[plots] @ {wheel.as_uri()}"], cwd=root)
    return root / "env"


@pytest.fixture(scope="module")
def user_folder(tmp_path_factory) -> Path:
    """A working folder that is not the checkout, with its own Hugging Face cache."""
    return tmp_path_factory.mktemp("user")


def user_env(user_folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "PYTHON"))}
    return {**env, "HF_HOME": str(user_folder / "hf-home"), "HF_HUB_OFFLINE": "1"}


@pytest.mark.slow
def test_sdist_holds_everything_needed_to_build_and_test(dist):
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        members = {member.name.split("/", 1)[1]: member for member in archive.getmembers() if "/" in member.name}
        assert not [name for name in SDIST_MUST_HOLD if name not in members], sorted(members)
        for name in ("dataset_card.md", "skin_cancer/dataset_card.md"):
            assert members[name].isfile(), f"{name} should be a regular file in the sdist, not a link"
        card = archive.extractfile(members["skin_cancer/dataset_card.md"]).read()
    assert card == (PROJECT_ROOT / "dataset_card.md").read_bytes()
    tracked = _tracked_files()
    if tracked:  # every tracked test, script and benchmark is shipped
        wanted = [name for name in tracked if name.startswith(("tests/", "scripts/", "benchmarks/"))]
        assert not [name for name in wanted if name not in members]


@pytest.mark.slow
def test_wheel_holds_the_card_template_and_the_licence(dist):
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert archive.read("skin_cancer/dataset_card.md") == (PROJECT_ROOT / "dataset_card.md").read_bytes()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names
    assert not [name for name in names if name.startswith(("tests/", "benchmarks/", "scripts/"))]


@pytest.mark.slow
def test_template_loads_from_a_zip_import(dist, tmp_path):
    """A wheel is a zip: on sys.path, importlib.resources must still find the template inside it."""
    (wheel,) = dist.glob("*.whl")
    code = "import skin_cancer.hub.card as c; print(c.__file__); print(len(c.load_template()))"
    out = run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(wheel)})
    location, length = out.split()
    assert location.startswith(str(wheel)) and int(length) == len((PROJECT_ROOT / "dataset_card.md").read_text())


@pytest.mark.slow
def test_installed_wheel_runs_every_command_outside_the_checkout(venv, user_folder):
    env = user_env(user_folder)
    python = str(venv / "bin" / "python")
    location = run([python, "-c", "import skin_cancer; print(skin_cancer.__file__)"], cwd=user_folder, env=env)
    assert location.startswith(str(venv)), f"the installed package should be used, not {location}"
    cli = str(venv / "bin" / "skin-cancer")
    common = ["--sample", "--quiet"]
    assert "Load it with" in run([cli, "build", *common], cwd=user_folder, env=env)
    run([cli, "export", *common, "--output", "exported"], cwd=user_folder, env=env)
    assert (user_folder / "exported" / "train" / "metadata.jsonl").is_file()
    run([cli, "stats", *common, "--output", "stats"], cwd=user_folder, env=env)
    assert (user_folder / "stats" / "stats.json").is_file() and list((user_folder / "stats").glob("*.png"))
    leaks = run([cli, "leaks", "--release", "isic2017"], cwd=user_folder, env=env)  # the shipped archive facts
    # The shipped facts reproduce the counts the issue measured on the archive (0 image, 4 lesion, 29 patient).
    assert re.search(r"isic2017/test\s+isic2017/train\s+0\s+4\s+29\n", leaks) and "556 (93%)" in leaks, leaks
    run([cli, "preview", *common, "--output", "previews"], cwd=user_folder, env=env)
    assert (user_folder / "previews" / "preview-train.png").is_file()
    dry_run = [cli, "publish", *common, "--repo-id", REPO_ID, "--dry-run", "staged", "--allow-partial"]
    out = run(dry_run, cwd=user_folder, env=env)
    assert "README.md" in out
    card = (user_folder / "staged" / "README.md").read_text()
    assert card.startswith("---\n") and "# ISIC-2017 skin lesion segmentation (partial)" in card


@pytest.mark.slow
def test_publish_script_from_a_checkout_with_a_non_editable_install(venv, user_folder):
    env = user_env(user_folder)
    python, script = str(venv / "bin" / "python"), str(PROJECT_ROOT / "scripts" / "publish.py")
    assert "--repo-id" in run([python, script, "--help"], cwd=PROJECT_ROOT, env=env)
    out = run(
        [
            python,
            script,
            "--sample",
            "--quiet",
            "--repo-id",
            REPO_ID,
            "--allow-partial",
            "--dry-run",
            str(user_folder / "by-script"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )
    assert "Staged 9 files" in out and (user_folder / "by-script" / "README.md").is_file()


def _copy_package(destination: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PROJECT_ROOT / "skin_cancer", destination / "skin_cancer", symlinks=True, ignore=ignore)
    return destination


@pytest.mark.parametrize(
    ("damage", "problem"),
    [("missing", "cannot be read"), ("symlink-as-text", "git config core.symlinks true")],
)
def test_an_installation_without_the_template_fails_before_the_build(damage, problem, tmp_path):
    site = _copy_package(tmp_path / "site")
    template = site / "skin_cancer" / "dataset_card.md"
    template.unlink()
    if damage == "symlink-as-text":  # what git writes for a symlink where symlinks are off
        template.write_text("../dataset_card.md")
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HOME": str(tmp_path / "hf-home")}
    command = ["-m", "skin_cancer", "publish", "--sample", "--repo-id", REPO_ID, "--dry-run", "out", "--quiet"]
    cache = tmp_path / "cache"
    result = subprocess.run(
        [sys.executable, *command, "--cache-dir", str(cache)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the dataset card template") and problem in lines[0]
    assert not cache.exists() and not (tmp_path / "hf-home").exists(), "nothing may be built before the check"
    assert not (tmp_path / "out").exists()


def test_a_clone_without_shared_skips_the_real_sample_tests_by_name(tmp_path):
    """On a user's machine there is no ../shared: the real-sample tests skip, and CI's variable makes them fail."""
    clone = _copy_package(tmp_path / "clone")
    shutil.copytree(PROJECT_ROOT / "tests", clone / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "pyproject.toml", clone)
    assert not (clone.parent / "shared").exists()
    env = {key: value for key, value in os.environ.items() if key != REQUIRE_SHARED}
    test = "tests/test_registration.py::test_load_dataset_builder_resolves_to_our_builder_on_the_real_sample"
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test]
    skipped = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
    assert skipped.returncode == 0, skipped.stdout[-2000:]
    assert "1 skipped" in skipped.stdout and "../shared/README.md" in skipped.stdout
    strict = subprocess.run(command, cwd=clone, env={**env, REQUIRE_SHARED: "1"}, capture_output=True, text=True)
    assert strict.returncode == 1 and f"{REQUIRE_SHARED}=1 forbids skipping" in strict.stdout


def _tracked_files() -> list[str]:
    if not (PROJECT_ROOT / ".git").exists() or shutil.which("git") is None:
        return []
    result = subprocess.run(["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    return result.stdout.split() if result.returncode == 0 else []


def test_the_dataset_layer_imports_no_higher_layer():
    """dataset/ is what load_dataset runs: it may not reach into tools/, hub/, evaluate/ or the command line."""
    higher = re.compile(r"^\s*(?:from|import)\s+(?:\.\.|skin_cancer\.)(tools|hub|evaluate|cli)\b", re.MULTILINE)
    found = {
        path.name: higher.findall(path.read_text())
        for path in sorted((PROJECT_ROOT / "skin_cancer" / "dataset").glob("*.py"))
    }
    assert {name: layers for name, layers in found.items() if layers} == {}
