"""Ctrl-C and kill: every command ends with "interrupted", exit 130, no worker left running, nothing half-written.

The build tests run the real command in a child process on the real sample repeated under new ids
(symlinks, nothing copied), and send real signals to it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skin_cancer.cli import main

from .helpers import repeated_tree

REPEATS = 6


@pytest.fixture(scope="module")
def repeated_sample(real_sample, tmp_path_factory) -> Path:
    """The real pairs linked REPEATS times under new ids (the benchmarks' tree): a build that lasts a few seconds."""
    return repeated_tree(real_sample, tmp_path_factory.mktemp("repeated") / "ISIC-2017", REPEATS)


def start_build(tree: Path, cache: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "skin_cancer", "build", "--data-dir", str(tree), "--cache-dir", str(cache)]
    return subprocess.Popen(
        [*command, "--quiet", "--size", "1024", "--image-format", "png", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
        # A job started in the background inherits an ignored SIGINT; a terminal's foreground job does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_workers(process: subprocess.Popen, count: int, timeout: float = 60.0) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = descendants(process.pid)
        if len(workers) >= count:
            time.sleep(0.5)  # let the pool start working
            return descendants(process.pid)
        if process.poll() is not None:
            pytest.fail(f"the build ended before its workers started: {process.communicate()}")
        time.sleep(0.05)
    pytest.fail("the workers never started")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from Linux's /proc")
def test_ctrl_c_with_two_processes_says_interrupted(repeated_sample, tmp_path):
    process = start_build(repeated_sample, tmp_path / "cache", "--num-proc", "2")
    workers = wait_for_workers(process, 2)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "TimeoutError" not in err and "Traceback" not in err
    time.sleep(1.0)
    assert not [pid for pid in workers if alive(pid)], "no worker may outlive the command"
    assert not list((tmp_path / "cache").rglob("*.arrow")), "nothing half-built is kept"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from Linux's /proc")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_killing_the_command_takes_its_workers_with_it(how, repeated_sample, tmp_path):
    process = start_build(repeated_sample, tmp_path / "cache", "--num-proc", "2")
    workers = wait_for_workers(process, 2)
    os.kill(process.pid, how)  # the main process only, as `kill PID` does
    process.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"{len(survivors)} worker(s) outlived the command killed with {how.name}"


def test_ctrl_c_during_a_parquet_write_is_clean(real_sample, tmp_path, monkeypatch, capsys):
    """A real SIGINT lands while pyarrow writes a shard: exit 130, no output, no scratch folder."""
    import datasets

    real_to_parquet = datasets.Dataset.to_parquet

    def interrupted_write(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real_to_parquet(self, *args, **kwargs)

    monkeypatch.setattr(datasets.Dataset, "to_parquet", interrupted_write)
    out = tmp_path / "exports" / "out"
    arguments = ["--data-dir", str(real_sample), "--cache-dir", str(tmp_path / "cache"), "--size", "64", "--quiet"]
    for command in (
        ["export", "--output", str(out), "--format", "parquet"],
        ["publish", "--repo-id", "lab/isic", "--dry-run", str(out), "--allow-partial"],
    ):
        code = main([*command, *arguments])
        err = capsys.readouterr().err
        assert code == 130 and "interrupted" in err, err
        assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_closed_pipe_is_not_a_traceback(real_sample, tmp_path):
    command = [sys.executable, "-m", "skin_cancer", "build", "--data-dir", str(real_sample)]
    command += ["--cache-dir", str(tmp_path / "cache"), "--size", "64", "--quiet"]
    shell = " ".join(f"'{part}'" for part in command) + " | true"  # the reader is gone before the first line
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=False)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr


def test_write_native_with_two_processes_finishes_every_time(real_sample, tmp_path):
    """Workers forked while an output holds Ctrl-C must still end when the pool stops them (it hung before)."""
    arguments = ["--data-dir", str(real_sample), "--split", "train", "--size", "64", "--quiet"]
    arguments += ["--cache-dir", str(tmp_path / "cache"), "--ceiling", "--num-proc", "2"]
    for attempt in range(4):
        command = [sys.executable, "-m", "skin_cancer", "evaluate", *arguments]
        result = subprocess.run(
            [*command, "--write-native", str(tmp_path / f"native-{attempt}")], capture_output=True, timeout=120
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(list((tmp_path / f"native-{attempt}").glob("*.png"))) == 8
