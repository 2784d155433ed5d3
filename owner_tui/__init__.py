"""owner-tui: who still awaits a reply, oldest wait first."""

__version__ = "0.1.0"
