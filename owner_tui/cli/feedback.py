"""``owner-tui feedback serve`` and ``owner-tui feedback card``: the on-site feedback page
(``sources/feedback``), its QR code and its printable table card."""

from __future__ import annotations

from pathlib import Path

import click

from owner_tui.cli.common import Failure, UsageFailure, one_line_errors


@click.group(name="feedback")
def feedback_group() -> None:
    """On-site feedback: a page customers open from a QR code on the table.

    Submissions arrive in the inbox within a second on the channel "on-site". Settings are in
    [feedback] of config.toml (see the README).
    """


def _business(config) -> str:
    return config.owner.business or config.owner.name or "Our shop"


def _card(path: Path, url: str, business: str) -> None:
    from owner_tui.sources.feedback.card import write_card

    try:
        write_card(path, url, business)
    except ValueError as exc:
        raise UsageFailure(str(exc)) from None
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"table card written to {path}", err=True)


@feedback_group.command(name="serve")
@click.option("--host", metavar="ADDR", help="Address to listen on (default: [feedback] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: [feedback] port, 8765).")
@click.option("--public", is_flag=True, help="Allow listening beyond localhost (the shop's network).")
@click.option("--card", "card", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a printable table card: card.pdf, card.png or card.svg.")
@click.option("--no-qr", is_flag=True, help="Do not print the QR code.")
@click.pass_obj
def serve(obj, host: str | None, port: int | None, public: bool, card: Path | None, no_qr: bool) -> None:
    """Run the feedback page until Ctrl-C; print its QR code."""
    @one_line_errors
    def run() -> None:
        from owner_tui.sources.feedback.alerts import email_alert
        from owner_tui.sources.feedback.card import terminal_qr
        from owner_tui.sources.feedback.server import BackgroundServer, ServeError

        config = obj.config
        business = _business(config)
        obj.store().close()  # create/migrate the database before the first customer
        try:
            srv = BackgroundServer(obj.db_path, config, host=host, port=port, public=public, business=business,
                                   alert=email_alert(config))
        except ServeError as exc:
            raise UsageFailure(str(exc)) from None
        url = srv.url
        if card:
            _card(card, url, business)
        if not no_qr:
            click.echo(terminal_qr(url))
        try:
            srv.start()
        except ServeError as exc:
            raise Failure(str(exc)) from None
        click.echo(f"feedback page for {business} at {url} (listening on {srv.host}:{srv.port}); Ctrl-C stops it",
                   err=True)
        try:
            srv.thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            srv.stop()

    run()


@feedback_group.command(name="card")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--url", help="The page's address (default: from [feedback] url, host and port).")
@click.pass_obj
def card_command(obj, path: Path, url: str | None) -> None:
    """Write the printable table card (PDF, PNG or SVG by the file's extension)."""
    @one_line_errors
    def run() -> None:
        from owner_tui.sources.feedback.server import page_url

        config = obj.config
        _card(path, url or page_url(config, config.feedback.host, config.feedback.port), _business(config))

    run()
