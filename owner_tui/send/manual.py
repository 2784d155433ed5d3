"""The reply path for platforms with no reply API (Yelp, or any other): copy and open.

The text goes to the clipboard through a local tool (``wl-copy``, ``xclip``, ``pbcopy``), the
review page opens in the browser, and the conversation is marked replied elsewhere: the owner
pastes and posts it there. Honest about what happened: the note says what worked.

OSC 52 (clipboard through terminal escape codes) is deliberately not used: the terminal is a
security boundary, and an app that writes escape sequences to reach the clipboard is what
untrusted review text must never be able to make us do.
"""

from __future__ import annotations

import shutil
import subprocess
import webbrowser
from datetime import UTC, datetime
from typing import Callable

from owner_tui.records import OutgoingReply, SendResult

#: Tried in order; the first one installed wins.
CLIPBOARD_COMMANDS = (("wl-copy",), ("xclip", "-selection", "clipboard"), ("pbcopy",))
NO_REPLY_API = {"yelp": "Yelp", "facebook": "Facebook", "google": "Google", "trustpilot": "Trustpilot"}


def copy_to_clipboard(text: str, *, which: Callable[[str], str | None] = shutil.which,
                      run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str | None:
    """Copy ``text`` with the first clipboard tool found; return its name, or None if none worked."""
    for cmd in CLIPBOARD_COMMANDS:
        path = which(cmd[0])
        if not path:
            continue
        try:
            proc = run([path, *cmd[1:]], input=text.encode("utf-8"), capture_output=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if proc.returncode == 0:
            return cmd[0]
    return None


def open_in_browser(url: str) -> bool:
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


class ManualSender:
    """``Sender`` that copies the reply and opens the review page; nothing goes on the wire."""

    def __init__(self, *, copy: Callable[[str], str | bool | None] = copy_to_clipboard,
                 open_url: Callable[[str], bool] = open_in_browser,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.copy = copy
        self.open_url = open_url
        self.now = now

    def send(self, reply: OutgoingReply) -> SendResult:
        platform = NO_REPLY_API.get(reply.channel, reply.channel.capitalize() or "This platform")
        copied = bool(self.copy(reply.body))
        opened = bool(reply.url) and bool(self.open_url(reply.url or ""))
        done = []
        done.append("text copied" if copied else
                    "could not copy the text (no wl-copy, xclip or pbcopy found): copy it from the reply box")
        if opened:
            done.append("page opened")
        elif reply.url:
            done.append(f"could not open the page: go to {reply.url}")
        else:
            done.append("no page address is known for this review")
        note = f"{platform} has no reply API: {', '.join(done)}; marked replied elsewhere"
        return SendResult(external_id=f"{reply.external_key}:manual:{reply.outbox_id}",
                          sent_at=self.now().astimezone(UTC).isoformat(), note=note)

    def verify(self, reply: OutgoingReply) -> bool | None:
        # Nothing reaches the customer from here: copying and opening again is harmless.
        return False
