"""The command line, the face of owner-tui for scripts and cron (``owner-tui --help``).

``cli`` and ``main`` load on first use, so ``cli.fast`` (the entry point) starts without click."""

__all__ = ["cli", "main"]


def __getattr__(name: str):
    if name in __all__:
        from owner_tui.cli import root

        return getattr(root, name)
    raise AttributeError(f"module 'owner_tui.cli' has no attribute {name!r}")
