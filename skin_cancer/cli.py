"""The `skin-cancer` command line: argument parsing, one-line errors, and the build summary.

Each command is a small function over a prepared `datasets` build; the work itself lives in
the other modules so that it can be called from Python just as well.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import SkinCancerError, UsageError, find_skin_cancer_error
from .transforms import IMAGE_FORMATS, RESIZE_MODES

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
DEFAULT_OPTIONS = {"size": 512, "resize_mode": "pad", "image_format": "jpeg"}


@dataclass
class Build:
    """A prepared dataset and what it cost."""

    builder: object
    dataset: object
    seconds_per_split: dict[str, float]
    reused: bool
    load_line: str


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_output(args.quiet)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        known = find_skin_cancer_error(error)
        message = str(known) if known is not None else f"{type(error).__name__}: {error}"
        print(f"error: {message}", file=sys.stderr)
        if known is None:
            print("(run again with --debug for the full traceback)", file=sys.stderr)
        return EXIT_USAGE if isinstance(known, UsageError) else EXIT_DATA


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skin-cancer",
        description="Turn the ISIC-2017 segmentation downloads into a square image/mask dataset.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.set_defaults(command=None, quiet=False, debug=False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    build = _command(commands, "build", "prepare the dataset in the datasets cache and print a summary", run_build)
    add_dataset_options(build)
    for register in _EXTRA_COMMANDS:
        register(commands)
    return parser


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data-dir", help="folder with the ISIC-2017 folders or zips")
    source.add_argument("--sample", action="store_true", help="use the built-in synthetic sample (no download)")
    parser.add_argument("--size", type=int, default=512, help="side of the square output, in pixels")
    parser.add_argument(
        "--resize-mode", choices=RESIZE_MODES, default="pad", help="how a non-square image is made square (see README)"
    )
    parser.add_argument("--image-format", choices=IMAGE_FORMATS, default="jpeg", help="encoding of the stored images")
    parser.add_argument("--num-proc", type=int, default=1, help="processes used to prepare the dataset")
    parser.add_argument("--cache-dir", default=None, help="datasets cache folder (default: the datasets default)")


def _command(
    commands: argparse._SubParsersAction, name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=help_text, description=help_text, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    parser.set_defaults(command=name, handler=handler)
    return parser


def prepare(args: argparse.Namespace) -> Build:
    """Build (or reuse from the cache) the dataset that the options describe."""
    from .builder import SkinCancer
    from .sample import ensure_sample_tree

    if args.num_proc < 1:
        raise UsageError(f"--num-proc must be at least 1, not {args.num_proc}")
    data_dir = str(ensure_sample_tree()) if args.sample else os.path.abspath(args.data_dir)
    options = {"size": args.size, "resize_mode": args.resize_mode, "image_format": args.image_format}
    builder = SkinCancer(data_dir=data_dir, cache_dir=args.cache_dir, **options)
    reused = builder.is_prepared()
    started = time.perf_counter()
    builder.download_and_prepare(num_proc=args.num_proc if args.num_proc > 1 else None)
    total = time.perf_counter() - started
    dataset = builder.as_dataset()
    seconds = dict(builder.seconds_per_split) or {split: 0.0 for split in dataset}
    if not reused and not builder.seconds_per_split:
        seconds = {split: total / len(dataset) for split in dataset}
    return Build(builder, dataset, seconds, reused, load_line(data_dir, options, args.cache_dir))


def load_line(data_dir: str, options: dict[str, object], cache_dir: str | None) -> str:
    changed = {key: value for key, value in options.items() if value != DEFAULT_OPTIONS[key]}
    if cache_dir:
        changed["cache_dir"] = cache_dir
    arguments = "".join(f", {key}={json.dumps(value)}" for key, value in changed.items())
    call = f'load_dataset("skin_cancer", data_dir={json.dumps(data_dir)}{arguments})'
    return f"import skin_cancer; from datasets import load_dataset; ds = {call}"


def run_build(args: argparse.Namespace) -> int:
    build = prepare(args)
    print(summary_table(build))
    print()
    print("Load it with:")
    print(f"  {build.load_line}")
    return EXIT_OK


def summary_table(build: Build) -> str:
    names = build.dataset["train"].features["diagnosis"].names
    header = ["split", "pairs", *names, "no label", "MB", "seconds"]
    rows = []
    for split, dataset in build.dataset.items():
        counts = {name: 0 for name in names}
        unlabelled = 0
        for label in dataset["diagnosis"]:
            if label is None:
                unlabelled += 1
            else:
                counts[names[label]] += 1
        info = build.builder.info.splits[split]
        seconds = "cached" if build.reused else f"{build.seconds_per_split.get(split, 0.0):.1f}"
        rows.append([split, len(dataset), *counts.values(), unlabelled, f"{info.num_bytes / 1e6:.1f}", seconds])
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "  ".join(str(cell).rjust(width) for cell, width in zip(line, widths, strict=True)) for line in [header, *rows]
    ]
    return "\n".join(lines)


def _configure_output(quiet: bool) -> None:
    import datasets

    from .builder import PartialSplitWarning

    if quiet:
        datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = show
    warnings.simplefilter("always", PartialSplitWarning)


# Later commands (export, stats, preview, publish) append their registration functions here.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


__all__ = ["Build", "SkinCancerError", "add_dataset_options", "main", "prepare"]
