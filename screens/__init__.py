"""Textual screens, installed as ``owner_tui.screens``; import them by that name only."""
