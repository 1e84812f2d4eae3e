"""Output folders: nothing a user owns is ever deleted, and a replacement is all or nothing.

Every test here that could reach a real folder through a bug replaces the one deletion in the
package (`outputs._delete_tree`) and `shutil.rmtree` itself with recording stubs, so that a wrong
answer shows up as a recorded call, never as a deleted `/` or home folder.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path

import pytest

from skin_cancer.cli import main
from skin_cancer.errors import DiskFullError, UsageError
from skin_cancer.tools import outputs


@pytest.fixture
def deletions(monkeypatch, tmp_path) -> list[Path]:
    """Record every deletion; perform only those of our own hidden folders inside this test's tmp_path."""
    recorded: list[Path] = []
    real_rmtree = shutil.rmtree

    def record(folder, *args, **kwargs):
        folder = Path(folder)
        recorded.append(folder)
        if tmp_path not in folder.parents or not folder.name.startswith(".skin-cancer-"):
            raise AssertionError(f"a deletion of {folder} was attempted")
        real_rmtree(folder)

    monkeypatch.setattr(outputs, "_delete_tree", record)
    monkeypatch.setattr(shutil, "rmtree", record)
    return recorded


def marked_output(folder: Path, content: str = "old") -> Path:
    folder.mkdir(parents=True)
    (folder / outputs.MARKER).write_text(outputs.marker_text("export", ["train.txt"]))
    (folder / "train.txt").write_text(content)
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def write_new(scratch: Path) -> None:
    (scratch / "train.txt").write_text("new")


@pytest.mark.parametrize("where", ["root", "home", "cwd", "empty", "dot"])
def test_the_machine_the_home_and_the_current_folder_are_refused(where, deletions, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output = {"root": "/", "home": str(Path.home()), "cwd": str(tmp_path), "empty": "", "dot": "."}[where]
    with pytest.raises(UsageError, match=r"refusing|empty"):
        outputs.check_output(output, overwrite=True)
    with pytest.raises(UsageError), outputs.replacing(Path(output), "export", overwrite=True) as scratch:
        write_new(scratch)
    assert deletions == []


@pytest.mark.parametrize("where", ["data_dir", "inside", "holds_data", "holds_cache", "holds_cwd"])
def test_the_data_the_cache_and_their_parents_are_refused(where, deletions, tmp_path, monkeypatch):
    data = tmp_path / "lab" / "ISIC-2017"
    cache = tmp_path / "caches" / "hf"
    work = tmp_path / "work" / "here"
    for folder in (data, cache, work):
        folder.mkdir(parents=True)
        (folder / "precious.txt").write_text("mine")
    monkeypatch.chdir(work)
    output = {
        "data_dir": data,
        "inside": data / "ISIC-2017_Training_Data",
        "holds_data": tmp_path / "lab",
        "holds_cache": tmp_path / "caches",
        "holds_cwd": tmp_path / "work",
    }[where]
    with pytest.raises(UsageError, match=r"refusing|holds your data"):
        outputs.check_output(output, overwrite=True, protected=[data, cache])
    for folder in (data, cache, work):
        assert (folder / "precious.txt").read_text() == "mine"
    assert deletions == []


def test_a_folder_without_the_marker_is_never_replaced(deletions, tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("years of work")
    for overwrite in (False, True):
        with (
            pytest.raises(UsageError, match="not written by skin-cancer"),
            outputs.replacing(mine, "export", overwrite) as scratch,
        ):
            write_new(scratch)
    assert snapshot(mine) == {"chapter1.tex": b"years of work"}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["thesis"], "no scratch folder may be left"
    assert all(path.name.startswith(".skin-cancer-partial-") for path in deletions)


def test_an_earlier_output_is_replaced_only_with_overwrite(deletions, tmp_path):
    earlier = marked_output(tmp_path / "out")
    with (
        pytest.raises(UsageError, match="pass --overwrite"),
        outputs.replacing(earlier, "export", overwrite=False) as scratch,
    ):
        write_new(scratch)
    assert (earlier / "train.txt").read_text() == "old"
    with outputs.replacing(earlier, "export", overwrite=True) as scratch:
        write_new(scratch)
    assert (earlier / "train.txt").read_text() == "new" and outputs.has_marker(earlier)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert [path.name.split("-")[2] for path in deletions] == ["retired"], "only the old output is deleted"


def test_a_failure_while_writing_leaves_the_old_output_exactly_as_it_was(deletions, tmp_path):
    earlier = marked_output(tmp_path / "out")
    before = snapshot(earlier)
    with pytest.raises(RuntimeError), outputs.replacing(earlier, "export", overwrite=True) as scratch:
        (scratch / "half.txt").write_text("half")
        raise RuntimeError("disk full, say")
    assert snapshot(earlier) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("failing_rename", [1, 2])
def test_a_failed_swap_puts_the_old_output_back(failing_rename, deletions, tmp_path, monkeypatch):
    """Rename 1 moves the old output aside, rename 2 moves the new one in: either may fail."""
    earlier = marked_output(tmp_path / "out")
    before = snapshot(earlier)
    real_rename, calls = os.rename, []

    def rename(source, destination):
        calls.append((Path(source).name, Path(destination).name))
        if len(calls) == failing_rename:
            raise OSError(errno.EIO, "simulated failure")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(UsageError, match="simulated"), outputs.replacing(earlier, "export", overwrite=True) as scratch:
        write_new(scratch)
    assert snapshot(earlier) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"], "nothing half-written beside it"


def test_an_existing_empty_folder_is_filled_in_place(deletions, tmp_path, monkeypatch):
    """A mount point cannot be renamed (EBUSY): the folder itself must stay where it is."""
    mount = tmp_path / "drive"
    mount.mkdir()
    inode = mount.stat().st_ino
    real_rename, real_replace = os.rename, os.replace

    def refuse_moving_the_mount(source, destination):
        if Path(source) == mount:
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", refuse_moving_the_mount)
    monkeypatch.setattr(os, "replace", lambda s, d: refuse_moving_the_mount(s, d) or real_replace(s, d))
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == mount)
    with outputs.replacing(mount, "export", overwrite=False) as scratch:
        write_new(scratch)
    assert mount.stat().st_ino == inode
    assert (mount / "train.txt").read_text() == "new" and outputs.has_marker(mount)
    # and again over that earlier output, still in place
    with outputs.replacing(mount, "export", overwrite=True) as scratch:
        (scratch / "train.txt").write_text("newer")
    assert mount.stat().st_ino == inode
    assert sorted(path.name for path in mount.iterdir()) == [outputs.MARKER, "train.txt"]
    assert (mount / "train.txt").read_text() == "newer"


def test_output_folders_honour_the_umask(deletions, tmp_path):
    previous = os.umask(0o022)
    try:
        with outputs.replacing(tmp_path / "shared", "export", overwrite=False) as scratch:
            (scratch / "train").mkdir()
    finally:
        os.umask(previous)
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "shared" / "train").stat().st_mode & 0o777 == 0o755


def test_remove_tree_refuses_anything_it_did_not_create(deletions, tmp_path):
    for folder in (Path("/"), Path.home(), tmp_path):
        with pytest.raises(RuntimeError, match="refusing to delete"):
            outputs.remove_tree(folder)
    assert deletions == []


def test_ctrl_c_while_a_native_writer_runs_is_held_until_a_safe_point(deletions, tmp_path):
    """A real SIGINT arrives in the middle of a write; the write finishes, then the export unwinds cleanly."""
    finished = []
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), outputs.replacing(tmp_path / "out", "export", False) as scratch:
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does while pyarrow is inside its writer
        (scratch / "shard-0.parquet").write_text("complete")
        finished.append("shard 0")
        outputs.interruption_point()
        finished.append("shard 1")
    assert finished == ["shard 0"]
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is previous, "the caller's own handler is back"


@pytest.mark.parametrize("flag", ["--output", "--cache-dir"])
def test_stats_and_preview_refuse_a_file_before_any_build(flag, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for command in ("stats", "preview"):
        arguments = [command, "--data-dir", str(tmp_path / "missing"), "--quiet"]
        if flag == "--output":
            arguments += ["--output", str(a_file)]
        else:
            arguments += ["--output", str(tmp_path / "o"), "--cache-dir", str(a_file)]
        code = main(arguments)
        err = capsys.readouterr().err
        assert code == 2 and ("is a file" in err or "not a folder" in err), err
        assert "does not exist" not in err, "the file must be refused before the build looks at data"


@pytest.mark.parametrize("command", ["export", "publish"])
def test_the_commands_refuse_the_real_data_before_any_build(command, real_sample, deletions, tmp_path, capsys):
    before = sorted(path.relative_to(real_sample) for path in real_sample.rglob("*"))
    for output in (real_sample, real_sample / "ISIC-2017_Training_Data", real_sample.parent, Path.home(), Path("/")):
        if command == "export":
            arguments = ["export", "--output", str(output), "--overwrite"]
        else:
            arguments = ["publish", "--repo-id", "lab/isic", "--dry-run", str(output), "--overwrite"]
        code = main([*arguments, "--data-dir", str(real_sample), "--cache-dir", str(tmp_path / "c"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and ("refusing" in err or "holds your data" in err), err
    assert not (tmp_path / "c").exists(), "the refusal comes before any build"
    assert sorted(path.relative_to(real_sample) for path in real_sample.rglob("*")) == before
    assert deletions == []


@pytest.mark.parametrize("how", ["copied-marker", "added-file", "hand-written-marker", "added-in-subfolder"])
def test_a_marker_protects_only_the_files_it_lists(how, deletions, tmp_path):
    """`cp -a export/. project/` copies the marker too: the user's own files must still never be replaced."""
    folder = marked_output(tmp_path / "out")
    if how == "copied-marker":
        (folder / "train.py").write_text("my code")
    elif how == "added-file":
        (folder / "model.pt").write_bytes(b"weights")
    elif how == "hand-written-marker":
        (folder / outputs.MARKER).write_text('{"written_by": "skin-cancer"}')
    else:
        (folder / "train").mkdir()
        (folder / "train" / "notes.txt").write_text("mine")
    before = snapshot(folder)
    for overwrite in (False, True):
        with pytest.raises(UsageError), outputs.replacing(folder, "export", overwrite) as scratch:
            write_new(scratch)
    assert snapshot(folder) == before
    assert deletions == [path for path in deletions if path.name.startswith(".skin-cancer-partial-")]


def test_a_file_added_while_writing_stops_the_replacement(deletions, tmp_path):
    folder = marked_output(tmp_path / "out")
    with pytest.raises(UsageError, match="changed while"), outputs.replacing(folder, "export", True) as scratch:
        write_new(scratch)
        (folder / "sub").mkdir()
        (folder / "sub" / "user-notes.txt").write_text("written meanwhile")
    assert (folder / "sub" / "user-notes.txt").read_text() == "written meanwhile"
    assert (folder / "train.txt").read_text() == "old"


def test_ctrl_c_during_the_last_write_keeps_the_old_output(deletions, tmp_path):
    folder = marked_output(tmp_path / "out")
    before = snapshot(folder)
    with pytest.raises(KeyboardInterrupt), outputs.replacing(folder, "export", True) as scratch:
        write_new(scratch)
        os.kill(os.getpid(), signal.SIGINT)  # arrives while the last file is written
    assert snapshot(folder) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_a_replacement_keeps_the_folders_permissions(deletions, tmp_path):
    folder = marked_output(tmp_path / "out")
    folder.chmod(0o700)
    with outputs.replacing(folder, "export", True) as scratch:
        write_new(scratch)
    assert folder.stat().st_mode & 0o777 == 0o700 and (folder / "train.txt").read_text() == "new"


def test_scratch_left_by_a_killed_run_is_removed_and_a_live_one_kept(deletions, tmp_path):
    dead_pid = 2**22 + 12345  # beyond Linux's pid_max default: no such process
    stale = tmp_path / f".skin-cancer-partial-{dead_pid}-abcd"
    live = tmp_path / f".skin-cancer-partial-{os.getpid()}-ef01"
    for folder in (stale, live):
        folder.mkdir()
        (folder / "shard.parquet").write_bytes(b"half")
    with outputs.replacing(tmp_path / "out", "export", False) as scratch:
        write_new(scratch)
    assert not stale.exists() and live.exists()
    assert stale in deletions


def test_an_unwritable_destination_is_refused_before_any_work(deletions, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    with pytest.raises(UsageError, match="cannot be written"):
        outputs.check_output(locked / "out", overwrite=False)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        outputs.check_output(a_file / "sub", overwrite=False)


def test_a_full_disk_is_one_named_error_and_the_old_output_stays(deletions, tmp_path):
    folder = marked_output(tmp_path / "out")
    before = snapshot(folder)
    with pytest.raises(DiskFullError, match="does not fit"), outputs.replacing(folder, "export", True):
        raise OSError(errno.ENOSPC, "No space left on device")
    assert snapshot(folder) == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    with pytest.raises(DiskFullError, match="MB needed"):
        outputs.require_free_space(tmp_path, 10**18, folder)


def test_write_native_never_replaces_the_ground_truth_or_the_predictions(real_sample, deletions, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(real_sample, data)
    truth_folder = data / "ISIC-2017_Test_v2_Part1_GroundTruth"
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    for mask in truth_folder.glob("*.png"):
        shutil.copy(mask, predictions / mask.name)
    before = {path: path.read_bytes() for folder in (truth_folder, predictions) for path in folder.iterdir()}
    common = ["evaluate", "--data-dir", str(data), "--split", "test", "--cache-dir", str(tmp_path / "c"), "--quiet"]
    for source, target in [("--ceiling", truth_folder), ("--predictions", predictions)]:
        extra = [source] if source == "--ceiling" else [source, str(predictions)]
        for overwrite in ([], ["--overwrite"]):
            code = main([*common, *extra, "--write-native", str(target), *overwrite])
            assert code == 2, capsys.readouterr().err
    assert {path: path.read_bytes() for path in before} == before
    assert not (tmp_path / "c").exists(), "refused before any build"


def test_report_files_never_replace_a_users_file_of_the_same_name(real_sample, tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "stats.json").write_text('{"my": "own results"}')
    arguments = ["--data-dir", str(real_sample), "--cache-dir", str(tmp_path / "c"), "--quiet", "--size", "64"]
    assert main(["stats", *arguments, "--output", str(home)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (home / "stats.json").read_text() == '{"my": "own results"}'
    ours = tmp_path / "ours"
    assert main(["stats", *arguments, "--output", str(ours)]) == 0
    assert main(["stats", *arguments, "--output", str(ours)]) == 0, "its own files may be replaced"
    assert main(["preview", *arguments, "--output", str(ours), "--n", "2"]) == 0, "and others added"
    assert outputs.marker_files(ours) >= {"stats.json", "preview-train.png"}


def test_a_parquet_export_that_cannot_fit_stops_before_pyarrow_runs_out(real_sample, tmp_path, monkeypatch, capsys):
    """pyarrow aborts the process on a full disk; the free space is checked before each shard instead."""
    arguments = ["--data-dir", str(real_sample), "--cache-dir", str(tmp_path / "c"), "--quiet", "--size", "64"]
    assert main(["build", *arguments]) == 0
    real_usage = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real_usage(path)._replace(free=1000))
    out = tmp_path / "exports" / "out"
    code = main(["export", *arguments, "--output", str(out), "--format", "parquet"])
    err = capsys.readouterr().err
    assert code == 1 and "does not fit" in err and str(out) in err and ".skin-cancer-partial" not in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_split_folder_linked_in_from_an_earlier_export_is_protected(deletions, tmp_path):
    earlier = marked_output(tmp_path / "realparent")
    (earlier / "TD").mkdir()
    (earlier / "TD" / "ISIC_0000001.jpg").write_bytes(b"image")
    (earlier / outputs.MARKER).write_text(outputs.marker_text("export", ["train.txt", "TD/ISIC_0000001.jpg"]))
    data = tmp_path / "d2"
    data.mkdir()
    (data / "ISIC-2017_Training_Data").symlink_to(earlier / "TD")
    with pytest.raises(UsageError, match="holds"):
        outputs.check_output(earlier, overwrite=True, protected=[data])
    assert (earlier / "TD" / "ISIC_0000001.jpg").read_bytes() == b"image"


def test_a_disk_full_error_survives_the_trip_back_from_a_worker():
    import pickle

    error = DiskFullError("/data/out", "about 9 MB needed, 1 MB free")
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == str(error) and str(again).count("does not fit") == 1


def test_overwrite_replaces_only_an_earlier_output_of_the_same_kind(deletions, tmp_path, capsys):
    """`splits --output ex --overwrite` once replaced a whole image export with 8 text files."""
    export = marked_output(tmp_path / "ex")
    before = snapshot(export)
    with pytest.raises(UsageError, match="earlier export output"), outputs.replacing(export, "splits", True) as s:
        write_new(s)
    assert main(["splits", "--output", str(export), "--overwrite"]) == 2
    assert "holds an earlier export output of skin-cancer, not a splits output" in capsys.readouterr().err
    assert main(["stats", "--sample", "--output", str(export)]) == 2, "no stats.json slipped into an export"
    assert "earlier export output" in capsys.readouterr().err
    assert snapshot(export) == before
    assert deletions == [path for path in deletions if path.name.startswith(".skin-cancer-partial-")]


def test_file_outputs_may_share_a_folder_of_file_outputs(tmp_path):
    folder = tmp_path / "reports"
    with outputs.placing_files(folder, "statistics", ["stats.json"]) as scratch:
        (scratch / "stats.json").write_text("{}")
    with outputs.placing_files(folder, "preview", ["preview.png"]) as scratch:
        (scratch / "preview.png").write_bytes(b"png")
    assert sorted(outputs.written_files(folder)) == ["preview.png", "stats.json"]
    with pytest.raises(UsageError, match="earlier preview output"):
        outputs.check_output(folder, overwrite=True, kind="export")


@pytest.mark.parametrize("where", ["proc", "sys", "long-name"])
def test_output_folder_os_errors_are_one_plain_line(where, deletions, tmp_path, capsys):
    output = {"proc": "/proc/x", "sys": "/sys/x", "long-name": str(tmp_path / ("n" * 240))}[where]
    code = main(["splits", "--output", output])
    err = capsys.readouterr().err
    if where == "long-name":
        assert code == 0 and Path(output).is_dir(), err
        return
    assert code == 2, err
    assert err.count("\n") == 1 and output in err and "Error" not in err, err
    assert deletions == []
