"""What `load_dataset` runs: the builder and everything it reads, decodes and writes with."""

__all__: list[str] = []
