"""Merge two contacts from the TUI: the same person on two channels (a reviewer and an
email contact). ``M`` offers the likely matches (``Store.merge_suggestions``: the same
name, or a name equal to an address's name part), asks once with what moves, and merges
on the writer thread; ``u`` (or ``owner-tui contacts unmerge``) takes it back.
"""

from __future__ import annotations

from rich.text import Text

from owner_tui.sanitize import one_line


def merge_context(store, conversation_id: int) -> dict:
    conv = store.conversation(conversation_id) or {}
    contact_id = conv.get("contact_id")
    if contact_id is None:
        return {"contact_id": None, "name": "", "suggestions": []}
    name = store.db.execute("SELECT name FROM contacts WHERE id = ?", [contact_id]).fetchone()[0] or ""
    return {"contact_id": contact_id, "name": name, "suggestions": store.merge_suggestions(contact_id)}


def start_merge(screen, row: dict) -> None:
    """From ``screen`` (inbox or conversation) for the conversation ``row``."""
    app = screen.app

    async def job() -> None:
        from owner_tui.screens.confirm import ConfirmDialog
        from owner_tui.screens.pickers import PickDialog

        info = await app.reader(merge_context, row["id"])
        keep = info["contact_id"]
        name = one_line(info["name"] or row.get("contact_handle") or "this contact", limit=40)
        if keep is None or not info["suggestions"]:
            app.notify(f"No likely match for {name} (same name, or an address with that name). "
                       "`owner-tui contacts find` and `contacts merge` take any two.", markup=False, timeout=8)
            return
        options = [(str(s["id"]), Text.assemble((one_line(s["name"] or "(no name)", limit=40), "bold"), "  ",
                                                (one_line(s["handles"] or "", limit=60), "dim"),
                                                f"  {s['conversations']} conversation(s)"))
                   for s in info["suggestions"]]
        by_id = {str(s["id"]): s for s in info["suggestions"]}

        def confirmed(ok: bool | None, other: dict) -> None:
            if not ok:
                return
            other_name = one_line(other["name"] or "", limit=40)
            app.run_change(lambda s: s.merge_contacts(keep, other["id"]),
                           notice=f"Merged {other_name} into {name}: one history now  (u to undo)",
                           then=lambda _r: screen.after_undo())

        def picked(value: str | None) -> None:
            if value is None:
                return
            other = by_id[value]
            title = Text.assemble("Merge ", (one_line(other["name"] or "", limit=40), "bold"), " into ",
                                  (name, "bold"), "?")
            body = Text(f"{other['conversations']} conversation(s) and the addresses "
                        f"{one_line(other['handles'] or '', limit=120)} join {name}'s history. Each conversation "
                        "still replies to the address it came from. u undoes it.")
            app.push_screen(ConfirmDialog(title, body, yes="merge"), lambda ok: confirmed(ok, other))

        app.push_screen(PickDialog(Text.assemble("Same person as ", (name, "bold"), "?"), options,
                                   hint="enter or 1-9 choose · esc cancel"), picked)

    app.run_worker(job, group="store", exit_on_error=False)
