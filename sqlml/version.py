"""sqlml's version (kept apart from the package's ``__init__``, which imports the whole public API)."""

__version__ = "0.1.0"
