"""The Hugging Face Hub: the dataset card (render, validate, read back) and publishing."""

__all__: list[str] = []
