"""What the commands run around a build: pipeline, export, stats, preview, summaries, samples, outputs."""

__all__: list[str] = []
