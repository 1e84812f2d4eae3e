"""The `skin-cancer` command line: argument parsing, one-line errors, and the build summary.

Each command is a small function over a prepared `datasets` build; the work itself lives in
the other modules so that it can be called from Python just as well.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence

from .errors import UsageError, find_skin_cancer_error
from .export import EXPORT_FORMATS
from .pipeline import Build, prepare_dataset
from .sample import ensure_sample_tree
from .summary import build_summary
from .transforms import IMAGE_FORMATS, RESIZE_MODES

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2


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

    export = _command(commands, "export", "write the dataset as image/mask folders or Parquet files", run_export)
    add_dataset_options(export)
    export.add_argument("--output", required=True, help="destination folder (created; must be empty)")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="folders", help="what to write")
    export.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")

    stats = _command(commands, "stats", "print statistics and write stats.json and charts", run_stats)
    add_dataset_options(stats)
    stats.add_argument("--output", required=True, help="folder for stats.json and the chart PNGs")

    preview = _command(commands, "preview", "write a PNG grid of images, masks and mask outlines", run_preview)
    add_dataset_options(preview)
    preview.add_argument("--output", required=True, help="folder for the preview PNG")
    preview.add_argument("--split", default="train", help="which split to show")
    preview.add_argument("--n", type=int, default=8, help="how many pairs")
    preview.add_argument("--seed", type=int, default=None, help="random choice with this seed (default: the first n)")

    publish = _command(commands, "publish", "build, stage and upload the dataset to the Hugging Face Hub", run_publish)
    add_dataset_options(publish)
    publish.add_argument("--repo-id", required=True, help="OWNER/NAME of the Hub dataset repository")
    publish.add_argument("--private", action="store_true", help="create the repository as private")
    publish.add_argument("--revision", default=None, help="branch to commit to (created if missing)")
    publish.add_argument("--create-pr", action="store_true", help="open a pull request instead of committing")
    publish.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN, then the saved login)")
    publish.add_argument("--max-shard-size", default="500MB", help="largest Parquet shard")
    publish.add_argument("--dry-run", metavar="OUT", default=None, help="stage the repository into OUT and stop")
    publish.add_argument("--allow-partial", action="store_true", help="publish fewer pairs than the official counts")
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
    """Build (or reuse from the cache) the dataset that the command-line options describe."""
    if args.num_proc < 1:
        raise UsageError(f"--num-proc must be at least 1, not {args.num_proc}")
    data_dir = str(ensure_sample_tree()) if args.sample else args.data_dir
    options = {"size": args.size, "resize_mode": args.resize_mode, "image_format": args.image_format}
    return prepare_dataset(data_dir, options, num_proc=args.num_proc, cache_dir=args.cache_dir)


def run_build(args: argparse.Namespace) -> int:
    build = prepare(args)
    print(build_summary(build))
    print()
    print("Load it with:")
    print(f"  {build.load_line}")
    return EXIT_OK


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


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .export import export

    build = prepare(args)
    output = Path(args.output)
    files = export(build, output, args.format, overwrite=args.overwrite)
    print(f"Wrote {len(files)} files to {output.resolve()} ({args.format})")
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

    from .stats import compute_stats, require_matplotlib, stats_table, write_charts

    require_matplotlib()  # fail before any work if the charts cannot be drawn
    stats = compute_stats(prepare(args))
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    charts = write_charts(stats, output)
    print(stats_table(stats))
    print(f"\nWrote {output / 'stats.json'} and {len(charts)} charts: {', '.join(path.name for path in charts)}")
    return EXIT_OK


def run_preview(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .preview import sample_preview

    if args.n < 1:
        raise UsageError(f"--n must be at least 1, not {args.n}")
    build = prepare(args)
    grid = sample_preview(build, args.split, args.n, args.seed)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    path = output / f"preview-{args.split}.png"
    grid.save(path)
    print(f"Wrote {path} ({grid.width}x{grid.height}): images, masks and mask outlines of {args.split}")
    return EXIT_OK


def run_publish(args: argparse.Namespace) -> int:
    import tempfile
    from pathlib import Path

    from . import card, publish

    publish.check_repo_id(args.repo_id)
    card.load_template()  # a broken installation fails now, not after the build
    token = None if args.dry_run else publish.resolve_token(args.token)
    build = prepare(args)
    if args.dry_run:
        staged = publish.stage(build, args.repo_id, Path(args.dry_run), args.max_shard_size, args.allow_partial)
        print(f"Staged {len(staged.files)} files in {staged.folder} (dry run, nothing uploaded):")
        for name in staged.files:
            print(f"  {name}")
        print(f'Check it with: load_dataset("{staged.folder}")')
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="skin-cancer-publish-") as scratch:
        staged = publish.stage(build, args.repo_id, Path(scratch) / "repo", args.max_shard_size, args.allow_partial)
        url = publish.upload(
            staged,
            args.repo_id,
            token,
            publish.commit_message(build),
            private=args.private,
            revision=args.revision,
            create_pr=args.create_pr,
        )
    print(f"Published {len(staged.files)} files to {url}")
    print(f'Load it with: load_dataset("{args.repo_id}")')
    return EXIT_OK


__all__ = ["Build", "add_dataset_options", "main", "prepare"]
