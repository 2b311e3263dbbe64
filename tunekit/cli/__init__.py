"""The ``tunekit`` command."""

from tunekit.cli.app import app, main

__all__ = ["app", "main"]
