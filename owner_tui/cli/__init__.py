"""The command line, the face of owner-tui for scripts and cron (``owner-tui --help``)."""

from owner_tui.cli.root import cli, main

__all__ = ["cli", "main"]
