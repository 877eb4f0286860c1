"""The package version (also in pyproject.toml: change both)."""

__version__ = "0.1.0"
