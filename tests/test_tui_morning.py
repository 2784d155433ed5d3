"""Issue 16, the morning loop: keys typed in a burst, q, safe sends, confirmations with counts,
the preview pane, saved replies, the demo's simulated delivery."""

from __future__ import annotations

import pytest
from textual import events

from owner_tui.store import Store
from owner_tui.tui.app import OwnerApp
from tests.tui_support import FrozenClock, build_store, config, screen_text, settle


@pytest.fixture
def env(tmp_path):
    clock = FrozenClock()
    ids = build_store(tmp_path / "t.db", clock)
    app = OwnerApp(tmp_path / "t.db", config(), clock=clock, exports_dir=tmp_path / "exports", live_mail=False)
    return app, clock, ids, tmp_path


def statuses(env) -> dict[str, str]:
    app, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        return {name: store.conversation(cid)["status"] for name, cid in ids.items()}


def burst(app, *keys: str) -> None:
    """Keys as one terminal write: every event is queued before the app handles the first."""
    for key in keys:
        event = events.Key(key, key if len(key) == 1 else None)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_d_d_d_in_one_burst_closes_three(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        burst(app, "d", "d", "d")
        await settle(pilot)
        done = sorted(n for n, s in statuses(env).items() if s == "done")
        assert len(done) == 3, done
        assert app.inbox.aging_list.total == 2


async def test_q_quits_from_the_list_and_closes_a_screen_elsewhere(env):
    app, clock, ids, _ = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConversationScreen"
        await pilot.press("q")
        await settle(pilot)
        assert app.screen is app.inbox
        await pilot.press("slash", "q")  # typed into the search box, not a quit
        await settle(pilot)
        assert app.is_running and app.screen is app.inbox
        await pilot.press("escape", "q")
        await settle(pilot)
        assert not app.is_running


def outbox(env) -> list[dict]:
    app, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        return store.outbox()


def make(env, **kw) -> OwnerApp:
    app, clock, ids, tmp = env
    return OwnerApp(tmp / "t.db", config(undo_seconds=kw.pop("undo_seconds", 0)), clock=clock,
                    exports_dir=tmp / "exports", live_mail=False, **kw)


async def test_a_send_waits_with_a_countdown_and_u_takes_it_back(env):
    app = make(env, undo_seconds=30)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"We do!", "ctrl+s")
        await settle(pilot)
        assert app.screen is app.inbox
        assert [r["status"] for r in outbox(env)] == ["queued"]
        assert "✉ to Ann Archer in 30s · u undo" in screen_text(app)
        await pilot.press("u")
        await settle(pilot)
        assert [r["status"] for r in outbox(env)] == ["cancelled"]
        assert app.pending_sends == {}
        assert "✉ to" not in screen_text(app)
        await pilot.press("enter", "r")  # the text is back in the draft
        await settle(pilot)
        assert "We do!" in app.screen.query_one("#editor").text


async def test_after_the_window_the_demo_delivers_and_the_wait_closes(env):
    import asyncio

    # The undo window runs on real time: long enough that a slow CI box still reads the row
    # before it ends (0.3 s was not: CI once saw it sent already), short enough to wait out.
    app = make(env, undo_seconds=1.5, demo=True)
    app_, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"We do!", "ctrl+s")
        await settle(pilot)
        assert [r["status"] for r in outbox(env)] == ["queued"]  # not before the window ends
        for _ in range(300):
            await asyncio.sleep(0.05)
            await settle(pilot)
            if outbox(env)[0]["status"] == "sent":
                break
        assert outbox(env)[0]["status"] == "sent"
        assert ids["ann"] not in [app.inbox.aging_list.row_at(i)["id"] for i in range(app.inbox.aging_list.total)]
        assert statuses(env)["ann"] == "open"


async def test_a_public_review_reply_shows_the_exact_text_and_needs_a_second_key(env):
    app = make(env)
    app_, clock, ids, tmp = env
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("end", "r")
        await settle(pilot)
        app.screen.query_one("#editor").load_text("Gail, sorry [b]about[/b] the cake.")
        await pilot.press("ctrl+s")
        await settle(pilot)
        text = screen_text(app)
        assert "Publish this reply publicly on Google, under Gail's ★★☆☆☆ review?" in text
        assert "Gail, sorry [b]about[/b] the cake." in text  # exactly as typed, never markup
        assert "https://reviews.example/google/g-1" in text
        assert outbox(env) == []
        await pilot.press("escape")  # back to the editor, nothing queued
        await settle(pilot)
        assert type(app.screen).__name__ == "ReplyScreen" and outbox(env) == []
        await pilot.press("ctrl+s", "y")
        await settle(pilot)
        assert [r["body"] for r in outbox(env)] == ["Gail, sorry [b]about[/b] the cake."]


async def test_a_domain_rule_asks_once_with_the_count_and_no_changes_nothing(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("n", "2")
        await settle(pilot)
        assert "Hide 5 conversations from @example.com?" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is app.inbox and app.inbox.aging_list.total == 5
        await pilot.press("n", "1")  # one sender, one conversation: no question
        await settle(pilot)
        assert statuses(env)["ann"] == "noise"


def test_saved_reply_fills_the_body_only():
    from owner_tui import templates

    ctx = templates.context_for("Ann Archer", "ann@x", owner_name="Sam", signature="Sam, Corner Shop")
    draft, row = templates.prefill("email", None, ctx)
    text, cursor = templates.into_draft(draft, "Hi {first_name},\n\nThanks, {name}!\n\n{signature}", ctx, (row, 0))
    assert text == "Hi Ann,\n\nThanks, Ann Archer!\n\nSam, Corner Shop"
    assert text.count("Hi Ann") == 1 and text.count("Sam, Corner Shop") == 1
    assert text.split("\n")[cursor[0]] == "Thanks, Ann Archer!"
    # into an empty draft a template keeps its own greeting and signature
    assert templates.into_draft("", "Hi {first_name},\n\nX\n\n{signature}", ctx, (0, 0))[0].startswith("Hi Ann,")


def test_editor_file_ends_with_a_newline_so_an_added_line_stays_apart(tmp_path):
    import sys

    from owner_tui.screens.reply import edit_externally

    script = tmp_path / "ed.py"
    script.write_text("import sys\nopen(sys.argv[1], 'a').write('P.S. see you\\n')\n")
    out = edit_externally("Hi Ann,\n\nSam, Corner Shop", tmp_path / "drafts", env={"EDITOR": f"{sys.executable} {script}"})
    assert out == "Hi Ann,\n\nSam, Corner Shop\nP.S. see you"


async def test_the_reply_screen_shows_the_whole_unanswered_question(env):
    app_, clock, ids, tmp = env
    from tests.tui_support import email, iso

    with Store.open(tmp / "t.db", clock=clock) as store:
        mail = store.ensure_account("imap", "shop-mail", {})
        store.ingest(mail, [email("a2@x", "ann@example.com", "Ann Archer", "Re: Wedding cake?",
                                  "Also: three tiers?\nAnd gluten free?\nFor 80 people.\nIn June.\n> old quote",
                                  iso(clock, days=4), in_reply_to="a1@x")])
    app = make(env)
    async with app.run_test(size=(100, 35)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        text = screen_text(app)
        for line in ("> Do you make wedding cakes?", "> Also: three tiers?", "> In June."):
            assert line in text
        assert "old quote" not in text


async def test_space_marks_then_done_applies_to_all_marked_as_one_undoable_step(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space")
        await settle(pilot)
        assert len(app.inbox.aging_list.marked) == 3
        assert "3 marked" in screen_text(app)
        await pilot.press("d")
        await settle(pilot)
        assert "Close 3 marked conversations?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert sorted(statuses(env).values()).count("done") == 3
        assert app.inbox.aging_list.total == 2 and app.inbox.aging_list.marked == set()
        await pilot.press("u")  # one step undoes all three
        await settle(pilot)
        assert "done" not in statuses(env).values()
        assert app.inbox.aging_list.total == 5


async def test_star_marks_everything_matching_and_snooze_applies_to_all(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        await settle(pilot)
        assert len(app.inbox.aging_list.marked) == 5
        await pilot.press("s")
        await settle(pilot)
        assert "5 marked conversations" in screen_text(app)
        await pilot.press("3")  # tomorrow morning
        await settle(pilot)
        assert "Snooze 5 marked conversations" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert list(statuses(env).values()).count("snoozed") == 5
        assert app.inbox.aging_list.total == 0


async def test_esc_clears_marks_and_no_keeps_them(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "e")
        await settle(pilot)
        await pilot.press("n")  # no: nothing changes, the marks stay
        await settle(pilot)
        assert len(app.inbox.aging_list.marked) == 2 and "done" not in statuses(env).values()
        await pilot.press("escape")
        await settle(pilot)
        assert app.inbox.aging_list.marked == set()
        assert "marked" not in screen_text(app)


async def test_live_search_across_views_with_counts_highlights_and_esc_restores(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("down", "down")  # Cat Cole? the third oldest wait
        before = app.inbox.aging_list.selected_id
        await pilot.press("slash", *"quo")  # a prefix of "Quote", in the No answer yet view
        await pilot.pause(0.3)
        await settle(pilot)
        lst = app.inbox.aging_list
        assert lst.filter.view == "all" and lst.total == 1
        assert lst.row_at(0)["contact_name"] == "Quinn Quill"
        tabs = screen_text(app)
        assert "No answer yet 1" in tabs and "Awaiting 0" in tabs and "All 1" in tabs
        from owner_tui.tui.widgets.rows import MATCH_STYLE

        strip = lst.render_line(0)
        assert any(seg.text.lower() == "quo" and seg.style and seg.style.bgcolor == MATCH_STYLE.bgcolor
                   for seg in strip)
        await pilot.press("escape")
        await settle(pilot)
        assert lst.filter.view == "awaiting" and lst.filter.search is None and lst.total == 5
        assert lst.selected_id == before


async def test_search_keystrokes_are_debounced_into_one_query(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        inbox = app.inbox
        searched: list[str] = []
        real = inbox._run_search
        inbox._run_search = lambda value: (searched.append(value), real(value))
        await pilot.press("slash")
        burst(app, *"wedding")
        await pilot.pause(0.4)
        await settle(pilot)
        assert app.inbox.filter.search == "wedding"
        assert app.inbox.aging_list.total == 1
        # every letter reached the box, in order, and the store was asked once
        assert app.inbox.query_one("#search").value == "wedding"
        assert searched == ["wedding"]


def add_mail(env, *records) -> None:
    app_, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        mail = store.ensure_account("imap", "shop-mail", {})
        store.ingest(mail, list(records))


def contact_of(env, name: str) -> int:
    app_, clock, ids, tmp = env
    with Store.open(tmp / "t.db", clock=clock) as store:
        return store.conversation(ids[name])["contact_id"]


async def test_merge_from_the_tui_with_a_suggestion_then_undo(env):
    from tests.tui_support import email, iso

    app_, clock, ids, tmp = env
    add_mail(env, email("g2@x", "gail@example.org", "Gail", "About my review", "The cake was dry, again.",
                        iso(clock, hours=1)))
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("end", "M")  # Gail's Google review is the newest wait
        await settle(pilot)
        assert "Same person as Gail?" in screen_text(app)
        assert "email gail@example.org" in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        assert "Merge Gail into Gail?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        with Store.open(tmp / "t.db", clock=clock) as store:
            g = store.conversation(ids["gail"])
            hist = store.history(g["contact_id"], ids["gail"])
            assert {m["channel"] for m in hist} == {"google", "email"}  # one history
        await pilot.press("u")
        await settle(pilot)
        with Store.open(tmp / "t.db", clock=clock) as store:
            g = store.conversation(ids["gail"])
            assert {m["channel"] for m in store.history(g["contact_id"], ids["gail"])} == {"google"}


def test_two_email_addresses_merged_keep_their_own_address_and_unmerge_from_the_cli(env, tmp_path):
    from click.testing import CliRunner

    from owner_tui.cli.root import cli
    from tests.tui_support import email, iso

    app_, clock, ids, tmp = env
    add_mail(env, email("w1@x", "ann.archer@work.example", "Ann Archer", "Invoice", "Invoice please.",
                        iso(clock, hours=3)))
    with Store.open(tmp / "t.db", clock=clock) as store:
        work = store.db.execute("SELECT contact_id FROM identities WHERE handle = 'ann.archer@work.example'").fetchone()[0]
        home = store.conversation(ids["ann"])["contact_id"]
        assert [s["id"] for s in store.merge_suggestions(home)] == [work]
        store.merge_contacts(home, work)
        rows = {r["subject"]: r["contact_handle"] for r in store.page()}
        assert rows["Wedding cake?"] == "ann@example.com" and rows["Invoice"] == "ann.archer@work.example"
        wid = store.db.execute("SELECT id FROM conversations WHERE subject = 'Invoice'").fetchone()[0]
        assert store.outgoing(store.queue_reply(wid, "Sent.")).to == ("ann.archer@work.example",)
    result = CliRunner().invoke(cli, ["--db", str(tmp / "t.db"), "contacts", "unmerge", str(work)])
    assert result.exit_code == 0, result.output
    assert "apart from" in result.output
    with Store.open(tmp / "t.db", clock=clock) as store:
        wid = store.db.execute("SELECT id FROM conversations WHERE subject = 'Invoice'").fetchone()[0]
        assert store.conversation(wid)["contact_id"] == work
        assert store.conversation(ids["ann"])["contact_id"] == home
    again = CliRunner().invoke(cli, ["--db", str(tmp / "t.db"), "contacts", "unmerge", str(work)])
    assert again.exit_code != 0 and "is not merged" in again.output


async def test_the_theme_chosen_persists_in_the_config(tmp_path):
    from owner_tui.config import load_config

    clock = FrozenClock()
    build_store(tmp_path / "t.db", clock)
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[owner]\nname = "Sam"\n', encoding="utf-8")
    app = OwnerApp(tmp_path / "t.db", load_config(path), clock=clock, live_mail=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await settle(pilot)
    cfg = load_config(path)
    assert cfg.ui.theme == "nord" and cfg.owner.name == "Sam"
    assert path.read_text().startswith("# mine\n")
    app = OwnerApp(tmp_path / "t.db", cfg, clock=clock, live_mail=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.theme == "nord"


async def test_a_short_notice_shows_on_the_status_line_not_over_the_rows(env):
    app = make(env)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        bar = str(app.inbox.query_one("#health-bar").render())
        assert "Done: Ann Archer (u to undo)" in bar  # one line: runs of spaces fold
        assert list(app._notifications) == []  # no toast over the list


async def test_preview_follows_the_cursor_at_120_columns_and_p_toggles_it(env):
    from owner_tui.screens.preview import PreviewPane

    app = make(env)
    app_, clock, ids, tmp = env
    async with app.run_test(size=(120, 35)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)
        pane = app.inbox.query_one(PreviewPane)
        assert pane.display and pane.shown_id == ids["ann"]
        burst(app, "j", "j", "j")  # three moves, then rest: one read, for the last row
        await pilot.pause(0.3)
        await settle(pilot)
        assert app.inbox.aging_list.cursor == 3 and pane.shown_id == ids["dan"]
        assert "Open on Sunday?" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert not pane.display
        await pilot.press("p")
        await pilot.pause(0.2)
        await settle(pilot)
        assert pane.display and pane.shown_id == ids["dan"]


async def test_no_preview_below_110_columns(env):
    from owner_tui.screens.preview import PreviewPane

    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert not app.inbox.query_one(PreviewPane).display
        await pilot.resize_terminal(120, 35)
        await pilot.pause(0.2)
        await settle(pilot)
        assert app.inbox.query_one(PreviewPane).display


def test_quoted_history_folds_and_wrapped_quotes_keep_their_marker():
    from owner_tui.quotes import fold

    body = "Yes, the 14th.\n\nOn Mon 9 Nov, Sam wrote:\n> Which date? " + "word " * 30 + "\n> > Do you make cakes?"
    folded, n = fold(body)
    assert folded == "Yes, the 14th.\n\n┆ 3 quoted lines hidden" and n == 3
    unfolded, _ = fold(body, unfolded=True, width=40)
    quoted = [ln for ln in unfolded.split("\n")[3:]]
    assert len(quoted) > 3 and all(ln.startswith(">") and len(ln) <= 40 for ln in quoted)
    assert quoted[-1] == "> > Do you make cakes?"


async def test_z_unfolds_quoted_history_in_the_conversation(env):
    from tests.tui_support import email, iso

    app_, clock, ids, tmp = env
    add_mail(env, email("a3@x", "ann@example.com", "Ann Archer", "Re: Wedding cake?",
                        "June 14th please.\n\nOn Sun, Sam wrote:\n> Which date?\n> > Do you make wedding cakes?",
                        iso(clock, days=4), in_reply_to="a1@x"))
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(app)
        assert "June 14th please." in text and "┆ 3 quoted lines hidden" in text and "> Which date?" not in text
        await pilot.press("z")
        await settle(pilot)
        text = screen_text(app)
        assert "> Which date?" in text and "> > Do you make wedding cakes?" in text


@pytest.mark.parametrize("width", [60, 80, 120])
async def test_the_footer_fits_the_width_with_whole_items(env, width):
    from owner_tui.tui.widgets.key_footer import KeyFooter

    app = make(env)
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        line = str(app.inbox.query_one(KeyFooter).render())
        assert len(line) <= width
        assert line.startswith("⏎ Open r Reply d Done s Snooze u Undo")
        assert line.rstrip().endswith(("Search", "Help", "Quit", "Triage", "Mark", "Preview", "Filter",
                                       "Replied elsewhere", "Noise"))
        if width >= 60:
            assert "? Help" in line


async def test_the_column_header_says_what_the_age_means_per_view(env):
    from owner_tui.tui.widgets.aging_list import ListHeader

    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        header = app.inbox.query_one(ListHeader)
        for key, word in (("1", "Waits"), ("2", "Quiet"), ("3", "Wakes"), ("4", "Done"), ("5", "Last")):
            await pilot.press(key)
            await settle(pilot)
            assert header.render_line(0).text.split()[0] == word


async def test_a_burst_after_slash_goes_to_the_search_box_never_to_the_list(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        burst(app, "slash", "w", "e", "d", "d")
        await pilot.pause(0.4)
        await settle(pilot)
        assert app.inbox.query_one("#search").value == "wedd"
        assert set(statuses(env).values()) <= {"open", "noise"}  # nothing closed by the d's


async def test_a_burst_after_r_types_into_the_reply(env):
    app = make(env)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        burst(app, "r", *"Yes")
        await settle(pilot)
        assert "Yes" in app.screen.query_one("#editor").text
        assert app.screen.query_one("#editor").text.startswith("Hi Ann,")
