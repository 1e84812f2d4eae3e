"""The package's own facts (what each release is, who made it and how to cite it live in releases.py)."""

from __future__ import annotations

# The package's version (the builder's VERSION, which tracks the bytes written, lives in builder.py).
VERSION = "2.1.1"


__all__ = [
    "VERSION",
]
