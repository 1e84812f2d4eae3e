"""The command line: exit codes, one-line errors, and the build summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    from skin_cancer.tools import sample

    monkeypatch.setattr(sample, "default_sample_dir", lambda: tmp_path / "sample")
    code = main(["build", "--sample", "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0
    assert (tmp_path / "sample" / "ISIC-2017" / "ISIC-2017_Training_Data" / "ISIC_9000001.jpg").is_file()
    assert "train" in out and "seconds" in out
    # The README shows the sample's three "partial" warnings, exactly as printed, and says they are expected.
    warned = [line for line in err.splitlines() if line.startswith("warning:")]
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert len(warned) == 3 and all(f"\n{line}\n" in readme for line in warned), warned
    assert "three warnings, expected there" in " ".join(readme.split())


@pytest.mark.parametrize("release", ["isic2017", "isic2018"])
def test_the_printed_load_line_reuses_the_build(real_sample, tmp_path, capsys, release):
    from .helpers import copy_tree_as

    data = real_sample if release == "isic2017" else copy_tree_as(real_sample, tmp_path / "data", release)
    cache = tmp_path / "cache"
    command = ["build", "--data-dir", str(data), "--cache-dir", str(cache), "--release", release, "--quiet"]
    assert main(command) == 0
    config = "" if release == "isic2017" else f', "{release}"'
    line = next(line.strip() for line in capsys.readouterr().out.splitlines() if "load_dataset(" in line)
    assert f'load_dataset("skin_cancer"{config}, data_dir="{data}", cache_dir="{cache}")' in line
    import datasets

    names = () if release == "isic2017" else (release,)
    builder = datasets.load_dataset_builder("skin_cancer", *names, data_dir=str(data), cache_dir=str(cache))
    assert builder.is_prepared(), "the line the command prints must load from the cache, not build again"
    namespace: dict = {}
    exec(line, namespace)  # the printed line itself, run as the user would
    assert namespace["ds"]["train"].info.config_name == release


def test_version_flag_and_help_name_the_version(capsys):
    from skin_cancer.about import VERSION

    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0 and capsys.readouterr().out.strip() == f"skin-cancer {VERSION}"
    with pytest.raises(SystemExit):
        main(["--help"])
    assert f"skin-cancer {VERSION}" in capsys.readouterr().out


@pytest.mark.parametrize("before", [True, False])
def test_quiet_and_debug_work_before_or_after_the_command(before):
    from skin_cancer import cli

    flags = ["--quiet", "--debug"]
    argv = [*flags, "build", "--sample"] if before else ["build", "--sample", *flags]
    parser_args = cli.build_parser().parse_args(argv)
    assert (parser_args.quiet, parser_args.debug) == (True, True)
    plain = cli.build_parser().parse_args(["build", "--sample"])
    assert (plain.quiet, plain.debug) == (False, False)


@pytest.mark.parametrize("command", ["build", "export", "stats", "preview", "publish"])
def test_help_never_shows_a_default_twice_or_a_default_of_none(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    for option_help in text.split(" --")[1:]:
        assert option_help.count("default") <= 1, option_help


def test_token_help_warns_about_ps(capsys):
    with pytest.raises(SystemExit):
        main(["publish", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    help_text = text.split("--token TOKEN ")[1].split(" --")[0]
    assert "`ps`" in help_text and "HF_TOKEN" in help_text


def test_quiet_silences_the_hub_progress_bars_too(tmp_path):
    code = (
        "import huggingface_hub.utils as u, skin_cancer.cli as c, sys;"
        "c._configure_output(True); sys.exit(0 if u.are_progress_bars_disabled() else 3)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


@pytest.mark.parametrize("data_dir", ["", "  "])
def test_an_empty_data_dir_is_a_usage_error_never_a_download(data_dir, tmp_path, monkeypatch, capsys):
    import skin_cancer

    def no_download(*args, **kwargs):
        raise AssertionError("an empty --data-dir must not start a download")

    monkeypatch.setattr(skin_cancer.SkinCancer, "_download", no_download)
    code = main(["build", "--data-dir", data_dir, "--cache-dir", str(tmp_path), "--quiet"])
    assert code == 2 and "--download" in capsys.readouterr().err


def test_downloading_must_be_asked_for(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["build"])
    assert caught.value.code == 2
    assert "--download" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["abc", "0", "1KB", "-5MB", ""])
def test_a_bad_shard_size_is_refused_before_any_build(size, tmp_path, capsys):
    argv = ["publish", "--data-dir", str(tmp_path / "missing"), "--repo-id", "lab/isic", "--max-shard-size", size]
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--dry-run", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "--max-shard-size" in err and "does not exist" not in err


def load_line_arguments(line: str) -> dict:
    import ast

    call = ast.parse(line.split("ds = ", 1)[1]).body[0].value
    return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}


@pytest.mark.parametrize("mode", ["data_dir", "download", "options"])
def test_the_load_line_names_the_same_cache_folder_in_every_mode(mode, synthetic_tree, tmp_path):
    """The printed line must point at the build it describes (download mode: no data_dir at all)."""
    import datasets

    import skin_cancer
    from skin_cancer.options import BuildOptions
    from skin_cancer.tools.pipeline import Build

    options = BuildOptions(size=64, resize_mode="stretch") if mode == "options" else BuildOptions()
    data_dir = None if mode == "download" else str(synthetic_tree)
    builder = skin_cancer.SkinCancer(data_dir=data_dir, cache_dir=str(tmp_path), **options.as_dict())
    build = Build(builder, datasets.DatasetDict(), data_dir, options, reused=False, cache_dir=str(tmp_path))
    arguments = load_line_arguments(build.load_line)
    if mode == "download":
        assert "data_dir" not in arguments
    described = datasets.load_dataset_builder("skin_cancer", **arguments)
    assert described.cache_dir == builder.cache_dir


def test_rebuild_prepares_again(synthetic_tree, tmp_path, capsys):
    argv = ["build", "--data-dir", str(synthetic_tree), "--cache-dir", str(tmp_path), "--quiet", "--size", "32"]
    assert main(argv) == 0 and "cached" not in capsys.readouterr().out
    assert main(argv) == 0 and "cached" in capsys.readouterr().out
    assert main([*argv, "--rebuild"]) == 0 and "cached" not in capsys.readouterr().out


def test_a_damaged_cache_is_named_with_the_way_out(real_sample, tmp_path, capsys):
    argv = ["build", "--data-dir", str(real_sample), "--cache-dir", str(tmp_path / "c"), "--quiet", "--size", "32"]
    assert main(argv) == 0
    capsys.readouterr()
    arrow = next((tmp_path / "c").rglob("*-train.arrow"))
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 3])
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err and "--rebuild" in err and "Traceback" not in err
    assert main([*argv, "--rebuild"]) == 0


def test_a_cache_inside_the_data_folder_is_refused(synthetic_tree, capsys):
    cache = synthetic_tree / "ISIC-2017_Training_Data" / "cache"
    assert main(["build", "--data-dir", str(synthetic_tree), "--cache-dir", str(cache), "--quiet"]) == 2
    assert "inside the data folder" in capsys.readouterr().err and not cache.exists()


@pytest.mark.parametrize("release", ["isic2016", "isic2018", "ham10000", "ph2", "imaplusplus"])
def test_every_release_has_a_built_in_sample(release, tmp_path, capsys, monkeypatch):
    # The sample tree goes to a temporary HF cache (default_sample_dir), never the user's.
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    command = ["build", "--sample", "--release", release, "--quiet", "--cache-dir", str(tmp_path / "cache")]
    assert main(command) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f'load_dataset("skin_cancer", "{release}", data_dir=' in out and str(tmp_path / "hf") in out
