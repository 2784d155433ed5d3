"""The TUI's screens and dialogs, installed as ``owner_tui.screens``.

One screen or dialog per module; each ``.tcss`` sits beside its screen. Import these as
``owner_tui.screens.<module>``, never as a top-level ``screens`` package.
"""
