"""The command line: exit codes, one-line errors, and the build summary."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skin_cancer.cli import main


def test_build_on_the_real_sample_prints_a_summary_and_the_load_line(real_sample, tmp_path, capsys):
    code = main(["build", "--data-dir", str(real_sample), "--cache-dir", str(tmp_path), "--size", "64", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["train"][1] == "8" and lines["valid"][1] == "3" and lines["test"][1] == "3"
    assert f'load_dataset("skin_cancer", data_dir="{real_sample}", size=64' in out
    assert "found 8 of 2000 official training images" in err


def test_bad_data_dir_is_one_line_and_exit_1(tmp_path, capsys):
    code = main(["build", "--data-dir", str(tmp_path / "missing"), "--cache-dir", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip().count("\n") == 0
    assert err.startswith("error: ") and "does not exist" in err and "Traceback" not in err


def test_corrupt_file_through_the_command_is_one_line(synthetic_tree, tmp_path, capsys):
    path = synthetic_tree / "ISIC-2017_Training_Data" / "ISIC_9000003.jpg"
    path.write_bytes(path.read_bytes()[:3000])
    code = main(["build", "--data-dir", str(synthetic_tree), "--cache-dir", str(tmp_path / "c"), "--quiet"])
    _, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1
    assert "ISIC_9000003.jpg" in errors[0] and "Traceback" not in err


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["build", "--sample", "--resize-mode", "squash"])
    assert caught.value.code == 2
    assert main(["build", "--sample", "--num-proc", "0"]) == 2


def test_debug_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "skin_cancer", "build", "--data-dir", str(tmp_path / "missing"), "--debug"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "does not exist" in result.stderr


def test_sample_runs_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    from skin_cancer import sample

    monkeypatch.setattr(sample, "default_sample_dir", lambda: tmp_path / "sample")
    code = main(["build", "--sample", "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert (tmp_path / "sample" / "ISIC-2017" / "ISIC-2017_Training_Data" / "ISIC_9000001.jpg").is_file()
    assert "train" in out and "seconds" in out


def test_the_printed_load_line_reuses_the_build(real_sample, tmp_path, capsys):
    assert main(["build", "--data-dir", str(real_sample), "--cache-dir", str(tmp_path), "--quiet"]) == 0
    assert f'load_dataset("skin_cancer", data_dir="{real_sample}", cache_dir="{tmp_path}")' in capsys.readouterr().out
    import datasets

    builder = datasets.load_dataset_builder("skin_cancer", data_dir=str(real_sample), cache_dir=str(tmp_path))
    assert builder.is_prepared(), "the line the command prints must load from the cache, not build again"
