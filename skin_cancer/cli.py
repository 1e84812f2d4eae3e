"""The `skin-cancer` command line: argument parsing, one-line errors, and the build summary.

Each command is a small function over a prepared `datasets` build; the work itself lives in
the other modules so that it can be called from Python just as well.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .about import VERSION
from .errors import PartialSplitWarning, UsageError, find_in_chain, find_skin_cancer_error
from .options import (
    DEFAULT_MAX_SHARD_SIZE,
    DEFAULT_NNUNET_DATASET_ID,
    DEFAULTS,
    EXPORT_FORMATS,
    IMAGE_FORMATS,
    RESIZE_MODES,
    SPLIT_FORMATS,
    BuildOptions,
)
from .releases import DEFAULT_RELEASE, RELEASES, get_release

# The parser imports nothing heavy (no `datasets`, numpy or Pillow), so `--help` and `--version` answer at
# once (benchmarks/bench_startup.py); each command imports what it runs.
if TYPE_CHECKING:
    from .tools.pipeline import Build

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `skin-cancer` command line on `argv` (None: sys.argv[1:]) and return its exit status.

    Exit statuses: 0 (EXIT_OK) done; 1 (EXIT_DATA) bad input data or any other failure; 2 (EXIT_USAGE) a
    usage error or no command given (help printed); 130 (EXIT_INTERRUPTED) Ctrl-C or SIGTERM. Errors are
    printed as one line "error: ..." on stderr (--debug re-raises them with their traceback), never raised;
    argparse's own SystemExit (--help, --version, bad arguments) propagates as argparse raises it.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_output(args.quiet)
    previous_term = _terminate_like_interrupt()
    try:
        code = args.handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not as "Exception ignored" at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except BaseException as error:
        if isinstance(error, SystemExit):
            raise
        if _was_interrupted(error):
            print("error: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        if _caused_by(error, BrokenPipeError):
            return _stdout_closed()
        if args.debug:
            raise
        known = find_skin_cancer_error(error)
        message = str(known) if known is not None else f"{type(error).__name__}: {error}"
        print(f"error: {message}", file=sys.stderr)
        if known is None:
            print("(run again with --debug for the full traceback)", file=sys.stderr)
        return EXIT_USAGE if isinstance(known, UsageError) else EXIT_DATA
    finally:
        signal.signal(signal.SIGTERM, previous_term)


def _was_interrupted(error: BaseException) -> bool:
    """Ctrl-C, even when a library replaced it on the way out (datasets' pool raises TimeoutError)."""
    return isinstance(error, KeyboardInterrupt) or _caused_by(error, KeyboardInterrupt)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    return find_in_chain(error, kind) is not None


def _terminate_like_interrupt():
    """`kill` (SIGTERM) unwinds like Ctrl-C, so worker pools and scratch folders are cleaned up."""

    def interrupt(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        return signal.getsignal(signal.SIGTERM)
    return signal.signal(signal.SIGTERM, interrupt)


def _stdout_closed() -> int:
    """The reader went away (`| head`): stop quietly, as Unix tools do."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_DATA


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show a default only where there is one worth showing, and never twice."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False) or "default" in (action.help or ""):
            return action.help or ""
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skin-cancer",
        description=f"skin-cancer {VERSION}: turn the ISIC segmentation downloads into a square image/mask dataset.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skin-cancer {VERSION}")
    _add_output_flags(parser, False)
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    _command(
        commands,
        "releases",
        "print every release's splits, official counts and shared images (no data needed)",
        run_releases,
    )

    leaks = _command(
        commands,
        "leaks",
        "count the images of every evaluation split that leak into a training split by image, lesion or patient "
        "(no data needed)",
        run_leaks,
    )
    # With a data source it also builds (or reuses) that data and lists near-duplicate images across its splits.
    add_dataset_options(leaks, required=False)
    leaks.set_defaults(release=None)  # without data: every release's rows; with data: the release it holds
    leaks.add_argument("--format", choices=("text", "json"), default="text", help="a table, or JSON rows with ids")
    leaks.add_argument(
        "--output", default=None, help="with a data source: folder for duplicates.png, a grid of the near-duplicates"
    )

    splits = _command(
        commands,
        "splits",
        "write the official splits and the five grouped folds as id lists, nnU-Net's splits_final.json or JSON "
        "(no data needed)",
        run_splits,
    )
    splits.add_argument("--release", choices=list(RELEASES), default=DEFAULT_RELEASE, help="which release")
    splits.add_argument("--format", choices=SPLIT_FORMATS, default="ids", help="what to write")
    splits.add_argument("--output", required=True, help="destination folder (new or empty)")
    splits.add_argument(
        "--overwrite", action="store_true", help="replace an earlier output of this tool (never any other folder)"
    )

    build = _command(commands, "build", "prepare the dataset in the datasets cache and print a summary", run_build)
    add_dataset_options(build)

    export = _command(commands, "export", "write the dataset as image/mask folders or Parquet files", run_export)
    add_dataset_options(export)
    export.add_argument("--output", required=True, help="destination folder (new or empty)")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="folders", help="what to write")
    export.add_argument(
        "--overwrite", action="store_true", help="replace an earlier export of this tool (never any other folder)"
    )
    export.add_argument(
        "--dataset-id",
        type=int,
        default=None,
        help=f"with --format nnunet: the dataset number, as in Dataset500_ISIC2017 (1 to 999; default "
        f"{DEFAULT_NNUNET_DATASET_ID})",
    )

    stats = _command(commands, "stats", "print statistics and write stats.json and charts", run_stats)
    add_dataset_options(stats)
    stats.add_argument("--output", required=True, help="folder for stats.json and the chart PNGs")

    preview = _command(commands, "preview", "write a PNG grid of images, masks and mask outlines", run_preview)
    add_dataset_options(preview)
    preview.add_argument("--output", required=True, help="folder for the preview PNG")
    preview.add_argument("--split", default=None, help="which split to show (default: the release's first split)")
    preview.add_argument("--n", type=int, default=8, help="how many pairs")
    preview.add_argument("--seed", type=int, default=None, help="random choice with this seed (without: the first n)")

    publish = _command(commands, "publish", "build, stage and upload the dataset to the Hugging Face Hub", run_publish)
    add_dataset_options(publish)
    publish.add_argument("--repo-id", required=True, help="OWNER/NAME of the Hub dataset repository")
    publish.add_argument("--private", action="store_true", help="create the repository as private")
    publish.add_argument("--revision", default=None, help="branch to commit to (created if missing)")
    publish.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    publish.add_argument(
        "--token",
        default=None,
        help="Hub token; visible to every user of this machine in `ps`, so prefer HF_TOKEN or `hf auth login` "
        "(without it: HF_TOKEN, then the saved login)",
    )
    publish.add_argument(
        "--max-shard-size",
        type=shard_size,
        default=DEFAULT_MAX_SHARD_SIZE,
        help=f"largest Parquet shard, at least {MIN_SHARD_SIZE}",
    )
    publish.add_argument("--dry-run", metavar="OUT", default=None, help="stage the repository into OUT and stop")
    publish.add_argument(
        "--overwrite", action="store_true", help="with --dry-run: replace an earlier staging of this tool"
    )
    publish.add_argument("--allow-partial", action="store_true", help="publish fewer pairs than the official counts")
    publish.add_argument(
        "--only-license",
        action="append",
        metavar="LICENSE[,LICENSE]",
        help="publish only the images the ISIC Archive lists under these licences (cc0-1.0, cc-by-4.0, "
        "cc-by-nc-4.0); repeat or separate by commas (without it: every known licence); the card counts the rest",
    )
    publish.add_argument(
        "--include-unknown-license",
        action="store_true",
        help="also publish the images the ISIC Archive has no licence record of (left out otherwise; always "
        "included with --sample, whose images skin-cancer draws itself)",
    )
    publish.add_argument(
        "--variant",
        action="append",
        metavar="SIZE:MODE[:FORMAT]",
        help="publish this variant as its own configuration, e.g. 512:pad or 256:center_crop; repeat for "
        "several; without it: the one variant of --size, --resize-mode, --image-format",
    )
    publish.add_argument(
        "--set-default",
        action="store_true",
        help="make the first variant the configuration load_dataset(REPO) gives (without it a repository keeps "
        "the one it has; a new one gets the first variant)",
    )

    evaluate = _command(
        commands, "evaluate", "score predictions at native resolution with the official ISIC metrics", run_evaluate
    )
    source = add_dataset_options(evaluate)
    # A staged folder or Hub repo is a third source of ground truth, exclusive with --data-dir/--sample.
    source.add_argument(
        "--dataset", metavar="FOLDER_OR_REPO", help="a staged folder or Hub repo with a native_masks configuration"
    )
    evaluate.set_defaults(resize_mode=None)  # None: "pad" for --data-dir, the configuration's for --dataset
    _set_help(
        evaluate,
        "resize_mode",
        "how the square pairs were made (default: pad with --data-dir or --sample; with --dataset, the "
        "configuration's, which a value given here must match)",
    )
    _set_help(
        evaluate,
        "num_proc",
        "processes that score the predictions (with --data-dir or --sample also those that prepare the dataset)",
    )
    # None: not given. --dataset reads a configuration already built, so these are refused with it (run_evaluate).
    for dest, default in EVALUATE_BUILD_ONLY.items():
        _set_help(evaluate, dest, f"{_help(evaluate, dest)} (default: {default}; not with --dataset)")
    evaluate.set_defaults(**dict.fromkeys(EVALUATE_BUILD_ONLY))
    evaluate.add_argument("--config", default=None, help="with --dataset: the configuration (default: the card's)")
    evaluate.add_argument("--split", default="test", help="which split the predictions are for")
    evaluate.add_argument("--predictions", help="folder of ISIC_XXXXXXX*.png or *.npy predictions (or --ceiling)")
    evaluate.add_argument("--ceiling", action="store_true", help="score the dataset's own square masks instead")
    evaluate.add_argument(
        "--output",
        default=None,
        help="folder for per_image.csv, summary.json/.md, worst.png (default: none, only the table is printed)",
    )
    evaluate.add_argument(
        "--write-native",
        metavar="DIR",
        default=None,
        help="write native-size {0,255} PNGs here, a new folder (default: none written)",
    )
    evaluate.add_argument(
        "--overwrite", action="store_true", help="replace an earlier --write-native folder of this tool"
    )
    evaluate.add_argument("--allow-missing", action="store_true", help="score only the images that have predictions")
    evaluate.add_argument(
        "--prediction-values",
        choices=("official", "indices", "probabilities"),
        default=None,
        help="read every prediction one way: official (0..255, lesion > 128, as ISIC's scorer), indices "
        "(0/1 class indices), probabilities (lesion > 0.5); default: greyscale PNGs official, palette PNGs "
        "and integer .npy indices, float .npy probabilities",
    )
    return parser


MIN_SHARD_SIZE = "100KB"
# Build options that `evaluate --dataset` cannot use (the configuration is built already), with their defaults.
EVALUATE_BUILD_ONLY = {"size": DEFAULTS.size, "release": DEFAULT_RELEASE, "image_format": DEFAULTS.image_format}


def _action(parser: argparse.ArgumentParser, dest: str) -> argparse.Action:
    return next(action for action in parser._actions if action.dest == dest)


def _help(parser: argparse.ArgumentParser, dest: str) -> str:
    return _action(parser, dest).help or ""


def _set_help(parser: argparse.ArgumentParser, dest: str, text: str) -> None:
    _action(parser, dest).help = text


def shard_size(text: str) -> str:
    """argparse type: a size such as 500MB, refused before any build when it cannot work."""
    from .dataset.compat import convert_file_size_to_int

    try:
        size = convert_file_size_to_int(text.strip())
    except (ValueError, IndexError, TypeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 500MB or 1GB") from None
    if size < convert_file_size_to_int(MIN_SHARD_SIZE):
        raise argparse.ArgumentTypeError(
            f"{text!r} is too small: a shard must hold at least one pair ({MIN_SHARD_SIZE})"
        )
    return text.strip()


def add_dataset_options(parser: argparse.ArgumentParser, required: bool = True) -> argparse._MutuallyExclusiveGroup:
    """The options every command over a build takes; returns the group of data sources (exactly one, or
    at most one when not `required`)."""
    source = parser.add_mutually_exclusive_group(required=required)
    source.add_argument("--data-dir", help="folder with the release's folders or zips")
    source.add_argument(
        "--sample", action="store_true", help="use the built-in synthetic sample of the release (no download)"
    )
    source.add_argument(
        "--download",
        action="store_true",
        help="download the release's official files into the cache (checked against their recorded checksums)",
    )
    parser.add_argument(
        "--release",
        choices=list(RELEASES),
        default=DEFAULT_RELEASE,
        help="which ISIC segmentation release the data are (`skin-cancer releases` lists them)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="with --download: do not check the files' checksums (datasets' verification_mode=\"no_checks\")",
    )
    parser.add_argument("--size", type=int, default=DEFAULTS.size, help="side of the square output, in pixels")
    parser.add_argument(
        "--resize-mode",
        choices=RESIZE_MODES,
        default=DEFAULTS.resize_mode,
        help="how a non-square image is made square (see README)",
    )
    parser.add_argument(
        "--image-format", choices=IMAGE_FORMATS, default=DEFAULTS.image_format, help="encoding of the stored images"
    )
    parser.add_argument("--num-proc", type=int, default=1, help="processes used to prepare the dataset")
    parser.add_argument("--cache-dir", default=None, help="datasets cache folder (without it: the datasets default)")
    parser.add_argument(
        "--rebuild", action="store_true", help="prepare the dataset again even if the cache holds it already"
    )
    return source


def _add_output_flags(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--quiet", action="store_true", default=default, help="no progress bars")
    parser.add_argument("--debug", action="store_true", default=default, help="show full tracebacks")


def _command(
    commands: argparse._SubParsersAction, name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)
    # SUPPRESS: `skin-cancer --quiet build` and `skin-cancer build --quiet` both work, neither undoes the other.
    _add_output_flags(parser, argparse.SUPPRESS)
    parser.set_defaults(command=name, handler=handler)
    return parser


def prepare(args: argparse.Namespace, options: BuildOptions | None = None) -> Build:
    """Build (or reuse from the cache) the dataset that the command-line options describe."""
    from .tools.pipeline import prepare_dataset

    check_num_proc(args)
    return prepare_dataset(
        source_dir(args),
        options or options_from_args(args),
        num_proc=args.num_proc,
        cache_dir=args.cache_dir,
        rebuild=args.rebuild,
        release=args.release,
        verify=not args.no_verify,
    )


def check_num_proc(args: argparse.Namespace) -> None:
    """--num-proc is a count of processes: at least 1 (UsageError otherwise)."""
    if args.num_proc < 1:
        raise UsageError(f"--num-proc must be at least 1, not {args.num_proc}")


def options_from_args(args: argparse.Namespace) -> BuildOptions:
    """The build options that --size, --resize-mode and --image-format give (UsageError when invalid)."""
    return BuildOptions(size=args.size, resize_mode=args.resize_mode, image_format=args.image_format)


def source_dir(args: argparse.Namespace) -> str | None:
    """The data folder the options name; None means download. Checked before any work."""
    from .tools.pipeline import resolve_data_dir
    from .tools.sample import ensure_sample_tree

    if args.sample:
        return str(ensure_sample_tree(release=get_release(args.release)))
    if args.download:
        return None
    return resolve_data_dir(args.data_dir)


def check_folders_up_front(args: argparse.Namespace) -> None:
    """Folders and options that cannot work are refused before a build spends minutes."""
    if args.no_verify and not args.download:
        raise UsageError("--no-verify only applies to --download (it skips the downloads' checksums)")
    if args.cache_dir is not None:
        _require_folder_or_new(args.cache_dir, "--cache-dir")
        data_dir = getattr(args, "data_dir", None)
        if data_dir and str(data_dir).strip():
            cache, data = Path(args.cache_dir).expanduser().resolve(), Path(data_dir).expanduser().resolve()
            if cache == data or data in cache.parents:
                raise UsageError(f"--cache-dir {cache} is inside the data folder {data}: put the cache elsewhere")


def _require_folder_or_new(path: str, flag: str) -> None:
    if not str(path).strip():
        raise UsageError(f"{flag} is empty: give a folder")
    resolved = Path(path).expanduser()
    if resolved.exists() and not resolved.is_dir():
        raise UsageError(f"{flag} {resolved} is a file, not a folder")


def protected_folders(args: argparse.Namespace) -> list[Path]:
    """Build.protected_folders, known before the build."""
    from .tools.pipeline import protected_folders as pipeline_protected_folders

    return pipeline_protected_folders(source_dir(args), args.cache_dir)


def run_releases(args: argparse.Namespace) -> int:
    from .tools.licences import render_split_licences
    from .tools.summary import render_releases

    print(render_releases())
    print()
    print(render_split_licences())
    return EXIT_OK


def run_splits(args: argparse.Namespace) -> int:
    from .tools.outputs import check_output
    from .tools.splits import splits, splits_record

    output = check_output(args.output, args.overwrite, kind="splits")
    files = splits(args.release, args.format, output, overwrite=args.overwrite)
    record = splits_record(args.release)
    print(f"Wrote {len(files)} files to {output} ({args.format}): {', '.join(str(name) for name in files)}")
    print("  " + ", ".join(f"{name}: {len(ids)}" for name, ids in record["splits"].items()))
    print("  folds of train: " + ", ".join(f"{k}: {len(ids)}" for k, ids in enumerate(record["fold_ids"])))
    return EXIT_OK


def run_leaks(args: argparse.Namespace) -> int:
    from .tools.leaks import leaks_json, release_rows, render_leaks

    if args.data_dir is None and not args.sample and not args.download:
        if args.output is not None:
            raise UsageError("--output writes the grid of near-duplicates: give the data too (--data-dir DIR)")
        rows = release_rows(args.release)
        print(leaks_json(rows) if args.format == "json" else render_leaks(rows))
        return EXIT_OK
    if args.format == "json":
        raise UsageError("--format json gives the facts' leak rows: leave out the data, or use the text output")
    args.release = args.release or DEFAULT_RELEASE
    rows = release_rows(args.release)
    print(render_leaks(rows))
    print()
    return _near_duplicates(args)


def run_build(args: argparse.Namespace) -> int:
    from .tools.summary import build_summary

    check_folders_up_front(args)
    build = prepare(args)
    print(build_summary(build))
    print()
    print("Load it with:")
    print(f"  {build.load_line}")
    return EXIT_OK


def _configure_output(quiet: bool) -> None:
    import datasets

    if quiet:
        import huggingface_hub.utils

        datasets.disable_progress_bars()
        huggingface_hub.utils.disable_progress_bars()
    datasets.logging.set_verbosity_error()

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    warnings.simplefilter("always", PartialSplitWarning)


def run_export(args: argparse.Namespace) -> int:
    from .tools.export import check_nnunet_release, export, nnunet_dataset_name
    from .tools.outputs import check_output

    if args.format != "nnunet" and args.dataset_id is not None:
        raise UsageError("--dataset-id is the nnU-Net dataset number: it needs --format nnunet")
    if args.dataset_id is None:
        args.dataset_id = DEFAULT_NNUNET_DATASET_ID
    check_folders_up_front(args)
    output = check_output(args.output, args.overwrite, protected_folders(args), kind="export")
    if args.format == "nnunet":
        nnunet_dataset_name(args.release, args.dataset_id)  # a bad number is refused before the build
        check_nnunet_release(args.release, get_release(args.release).split_names)
    build = prepare(args)
    files = export(build, output, args.format, overwrite=args.overwrite, dataset_id=args.dataset_id)
    print(f"Wrote {len(files)} files to {output.resolve()} ({args.format})")
    if args.format == "nnunet":
        dataset = files[0].parts[0] if files else ""
        print(f"  {dataset}: imagesTr, labelsTr, imagesTs, labelsTs, dataset.json, splits_final.json")
        print(f"Use it with: export nnUNet_raw={output.resolve()}; copy {dataset}/splits_final.json into")
        print(f"  $nnUNet_preprocessed/{dataset}/ after nnUNetv2_plan_and_preprocess (README: nnU-Net)")
        return EXIT_OK
    for split in build.dataset:
        count = sum(1 for name in files if name.parts[0] == split or name.name.startswith(f"{split}-"))
        print(f"  {split}: {count} files")
    if args.format == "folders":
        print(f'Load it with: load_dataset("imagefolder", data_dir="{output.resolve()}")')
    else:
        print(f'Load it with: load_dataset("parquet", data_dir="{output.resolve()}")')
    return EXIT_OK


def run_stats(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .tools.outputs import check_file_output, placing_files
    from .tools.stats import CHART_FILES, CHARTS_HINT, charts_available, compute_stats, stats_table, write_charts

    check_folders_up_front(args)
    drawing = charts_available()  # known before the build: without matplotlib only stats.json is written
    names, protected = ["stats.json", *(CHART_FILES if drawing else ())], protected_folders(args)
    check_file_output(args.output, names, protected, kind="statistics")
    stats = compute_stats(prepare(args))
    with placing_files(args.output, "statistics", names, protected) as scratch:
        (scratch / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        charts = write_charts(stats, scratch) if drawing else []
    output = Path(args.output).expanduser().resolve()
    print(stats_table(stats))
    if drawing:
        print(f"\nWrote {output / 'stats.json'} and {len(charts)} charts: {', '.join(path.name for path in charts)}")
    else:
        print(f"\nWrote {output / 'stats.json'}; the charts were skipped: matplotlib is not installed ({CHARTS_HINT})")
    return EXIT_OK


def check_split(args: argparse.Namespace) -> None:
    """--split against the splits of --release, before any build (which can take minutes); UsageError otherwise."""
    split_names = get_release(args.release).split_names
    if args.split not in split_names:
        raise UsageError(f"--split must be one of {', '.join(split_names)} ({args.release}), not {args.split!r}")


def run_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .tools.outputs import check_file_output, placing_files
    from .tools.preview import sample_preview

    if args.n < 1:
        raise UsageError(f"--n must be at least 1, not {args.n}")
    if args.split is None:
        args.split = get_release(args.release).split_names[0]  # train, or test for a test-only release (PH2)
    check_split(args)
    check_folders_up_front(args)
    name, protected = f"preview-{args.split}.png", protected_folders(args)
    check_file_output(args.output, [name], protected, kind="preview")
    build = prepare(args)
    grid = sample_preview(build, args.split, args.n, args.seed)
    with placing_files(args.output, "preview", [name], protected) as scratch:
        grid.save(scratch / name)
    path = Path(args.output).expanduser().resolve() / name
    print(f"Wrote {path} ({grid.width}x{grid.height}): images, masks and mask outlines of {args.split}")
    return EXIT_OK


def _near_duplicates(args: argparse.Namespace) -> int:
    """`leaks` with data: pairs of images in different splits of the user's build whose perceptual hashes
    are near (tools/duplicates.py), printed, and drawn into OUTPUT/duplicates.png with --output."""
    from pathlib import Path

    from .tools.duplicates import GRID_PAIRS, duplicates_grid, find_duplicates, format_pairs
    from .tools.outputs import check_file_output, placing_files

    check_folders_up_front(args)
    name, protected = "duplicates.png", protected_folders(args)
    if args.output is not None:
        check_file_output(args.output, [name], protected, kind="duplicates")
    build = prepare(args)
    pairs = find_duplicates(build)
    print(format_pairs(pairs))
    if args.output is not None and pairs:
        grid = duplicates_grid(build, pairs)
        with placing_files(args.output, "duplicates", [name], protected) as scratch:
            grid.save(scratch / name)
        path = Path(args.output).expanduser().resolve() / name
        print(
            f"Wrote {path} ({grid.width}x{grid.height}): the first {min(len(pairs), GRID_PAIRS)} pair(s) side by side"
        )
    elif args.output is not None:
        print("No grid written: there is no pair to show.")
    return EXIT_OK


def run_publish(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from .hub import card, publish
    from .hub.licences import LicenseChoice, only_licences
    from .tools.outputs import check_output

    publish.check_repo_id(args.repo_id)
    if args.dry_run is None:  # refused before the token, the build and any request to the Hub
        publish.check_redistributable(get_release(args.release))
    card.load_template()  # a broken installation fails now, not after the build
    variants = _variants(args)
    check_folders_up_front(args)
    if args.overwrite and not args.dry_run:
        raise UsageError("--overwrite only applies to --dry-run OUT")
    if args.dry_run is not None:
        check_output(args.dry_run, args.overwrite, protected_folders(args), kind="staged Hub repository")
    # The synthetic sample's images are drawn by skin-cancer, not ISIC's: no archive record can exist for them.
    licenses = LicenseChoice(only_licences(args.only_license), args.include_unknown_license or args.sample)
    token = None if args.dry_run else publish.resolve_token(args.token)
    builds = [prepare(args, options) for options in variants]
    if args.dry_run:
        staged = publish.stage(
            builds,
            args.repo_id,
            Path(args.dry_run),
            args.max_shard_size,
            args.allow_partial,
            args.overwrite,
            licenses=licenses,
        )  # a dry run reads no card: the staged card is a new repository's
        print(f"Staged {len(staged.files)} files in {staged.folder} (dry run, nothing uploaded):")
        for name in staged.files:
            print(f"  {name}")
        print(f'Check it with: load_dataset("{staged.folder}", "{staged.configs[0]}")')
        return EXIT_OK
    remote = publish.read_remote(args.repo_id, token, args.revision)
    with tempfile.TemporaryDirectory(prefix="skin-cancer-publish-") as scratch:
        staged = publish.stage(
            builds,
            args.repo_id,
            Path(scratch) / "repo",
            args.max_shard_size,
            args.allow_partial,
            existing=remote.card,
            set_default=args.set_default,
            licenses=licenses,
        )
        url = publish.upload(
            staged,
            args.repo_id,
            token,
            publish.commit_message(builds),
            private=args.private,
            revision=args.revision,
            create_pr=args.create_pr,
            parent_commit=remote.commit,
        )
    print(f"Published {len(staged.files)} files to {url}")
    kept = "" if staged.default == staged.configs[0] else " (kept; --set-default makes the first variant the default)"
    print(f"Default configuration: {staged.default}{kept}")
    print(f'Load it with: load_dataset("{args.repo_id}", "{staged.configs[0]}")')
    return EXIT_OK


def _variants(args: argparse.Namespace) -> list[BuildOptions]:
    """--variant SIZE:MODE[:FORMAT] as often as given; without it, the one variant of --size and friends."""
    if not args.variant:
        return [options_from_args(args)]
    return [BuildOptions.from_variant(text) for text in args.variant]


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import REPORT_FILES, ceiling_predictions, collect_predictions, load_truth, score, truth_from_build
    from .tools.outputs import check_file_output, check_output, placing_files

    check_evaluate_options(args)
    check_folders_up_front(args)
    protected = evaluate_protected_folders(args)
    if args.output:
        check_file_output(args.output, REPORT_FILES, protected, kind="evaluation report")
    if args.write_native:
        check_output(args.write_native, args.overwrite, protected, kind="native-size predictions")
    # The split and the predictions' folder are checked before the build, which can take minutes.
    if not args.dataset:
        check_split(args)
    predictions = None if args.ceiling else collect_predictions(args.predictions)
    if args.dataset:
        truth = load_truth(
            dataset=args.dataset,
            split=args.split,
            resize_mode=args.resize_mode,
            cache_dir=args.cache_dir,
            config=args.config,
        )
    else:
        truth = truth_from_build(prepare(args), args.split)
    predictions = ceiling_predictions(truth) if predictions is None else predictions
    report = score(
        predictions,
        truth,
        args.num_proc,
        args.allow_missing,
        args.write_native,
        args.overwrite,
        prediction_values=args.prediction_values,
    )
    print(report.table())
    if args.write_native:
        print(f"\nWrote {len(report.per_image)} native-size masks to {args.write_native}")
    if args.output:
        with placing_files(args.output, "evaluation report", REPORT_FILES, protected) as scratch:
            written = report.write(scratch, predictions, truth)
        print(f"Wrote {', '.join(path.name for path in written)} to {args.output}")
    return EXIT_OK


def check_evaluate_options(args: argparse.Namespace) -> None:
    """evaluate's combinations that cannot work, refused before any download, build or read; fills in the
    build options' defaults when a build is wanted."""
    if args.download:
        raise UsageError(
            "evaluate reads the native masks from the ISIC folders or zips, which --download does not give it: "
            "give --data-dir DIR (the downloaded folders or zips) or --dataset FOLDER_OR_REPO"
        )
    if args.predictions is not None and args.ceiling:
        raise UsageError("give --predictions FOLDER or --ceiling, not both")
    if args.predictions is None and not args.ceiling:
        raise UsageError("give --predictions FOLDER, or --ceiling to score the dataset's own square masks")
    check_num_proc(args)
    if args.config and not args.dataset:
        raise UsageError("--config names a configuration of --dataset; with --data-dir use --size and --resize-mode")
    if args.dataset:
        flags = {**{dest: "--" + dest.replace("_", "-") for dest in EVALUATE_BUILD_ONLY}, "rebuild": "--rebuild"}
        flags["no_verify"] = "--no-verify"
        given = [flag for dest, flag in flags.items() if getattr(args, dest) not in (None, False)]
        if given:
            raise UsageError(
                f"{', '.join(given)} only apply to a build (--data-dir or --sample); --dataset reads a "
                "configuration that is built already: choose it with --config"
            )
        return
    for dest, default in EVALUATE_BUILD_ONLY.items():
        if getattr(args, dest) is None:
            setattr(args, dest, default)
    args.resize_mode = args.resize_mode or DEFAULTS.resize_mode


def evaluate_protected_folders(args: argparse.Namespace) -> list:
    """Every folder evaluate reads (the data folder, a --dataset folder, the predictions) and the cache:
    outputs may not replace, hold or sit inside any of them."""
    protected: list = list(protected_folders(args))  # with --dataset: the cache alone
    if args.dataset and Path(args.dataset).expanduser().is_dir():
        protected.append((Path(args.dataset).expanduser(), "the --dataset folder evaluate reads"))
    if args.predictions:
        protected.append((Path(args.predictions).expanduser(), "the predictions folder"))
    return protected


__all__ = ["add_dataset_options", "main", "prepare"]
