"""The version of graphtrace, kept where every layer can read it without importing the package face."""

__all__ = ["__version__"]

__version__ = "0.1.0"
