"""What every command shares: the exit codes, the one-line errors, and the context that
holds the config and database paths.

Exit codes a script can rely on: 0 success; 1 the work failed (a server, a file, the
database); 2 bad usage or a bad config file.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from pathlib import Path

import click

from owner_tui.paths import get_paths

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class Failure(click.ClickException):
    """The work failed (exit 1), said in one line."""

    exit_code = EXIT_FAILED


class UsageFailure(click.ClickException):
    exit_code = EXIT_USAGE


def one_line_errors(fn):
    """Turn the errors owners can meet into one line and a reliable exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from owner_tui.config import ConfigError
        from owner_tui.secrets import SecretError
        from owner_tui.store import StoreError

        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            raise  # the reader went away (``| head``): main() ends quietly
        except ConfigError as exc:
            raise UsageFailure(one_line(str(exc))) from None
        except (StoreError, SecretError) as exc:
            raise Failure(one_line(str(exc))) from None
        except (OSError, sqlite3.Error) as exc:
            from owner_tui.store import describe_error

            raise Failure(one_line(describe_error(exc))) from None

    return wrapper


def one_line(text: str) -> str:
    """An error for the terminal: one line, no control or escape sequence (file names and
    server texts are untrusted)."""
    from owner_tui.sanitize import one_line as clean

    return clean(text, limit=500)


def explain(exc: BaseException) -> tuple[str, int]:
    """The one line and exit code for an error that no command caught: never a traceback."""
    from owner_tui.config import ConfigError
    from owner_tui.secrets import SecretError
    from owner_tui.store import StoreError, describe_error

    if isinstance(exc, ConfigError):
        return one_line(str(exc)), EXIT_USAGE
    if isinstance(exc, (StoreError, SecretError)):
        return one_line(str(exc)), EXIT_FAILED
    if isinstance(exc, (OSError, sqlite3.Error)):
        return one_line(describe_error(exc)), EXIT_FAILED
    if isinstance(exc, MemoryError):
        return "out of memory", EXIT_FAILED
    return one_line(f"unexpected error ({type(exc).__name__}: {exc}); "
                    "set OWNER_TUI_DEBUG=1 to see where"), EXIT_FAILED


def run_main(command, **kwargs) -> None:
    """Run the click command with a net under it: any error becomes one line on stderr and
    a reliable exit code, and a closed stdout (``owner-tui export | head``) ends quietly."""
    try:
        command.main(standalone_mode=True, **kwargs)  # always ends in SystemExit
    except SystemExit as done:
        try:
            sys.stdout.flush()  # here, not in the interpreter's exit, where EPIPE is a traceback
        except BrokenPipeError:
            _quiet_stdout()
            sys.exit(EXIT_OK)
        except (OSError, ValueError):
            pass
        raise done
    except BrokenPipeError:
        _quiet_stdout()
        sys.exit(EXIT_OK)
    except Exception as exc:  # noqa: BLE001 - the last net: no traceback reaches the owner
        if os.environ.get("OWNER_TUI_DEBUG"):
            raise
        message, code = explain(exc)
        try:
            click.echo(f"Error: {message}", err=True)
        except OSError:
            pass
        sys.exit(code)


def quiet_broken_pipe(ctx: click.Context) -> None:
    """The reader of our stdout went away (``| head``): what it wanted it got; end with 0."""
    _quiet_stdout()
    ctx.exit(EXIT_OK)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class Context:
    def __init__(self, config_path: Path | None, db_path: Path | None):
        self.paths = get_paths()
        #: ``--config FILE`` names a file that must exist; the default one may be absent.
        self.config_explicit = config_path is not None
        self.config_path = config_path or self.paths.config_file
        self.db_path = db_path or self.paths.database
        self._config = None

    @property
    def config(self):
        if self._config is None:
            self._config = self.load_config()
        return self._config

    def load_config(self, *, may_be_new: bool = False):
        """The config; an explicitly named file that does not exist is an error (exit 2),
        unless the command is about to create it (``may_be_new``: ``accounts add``)."""
        from owner_tui.config import (  # not at import: `--help` needs none of it
            ConfigError,
            load_config,
        )

        if self.config_explicit and not may_be_new and not self.config_path.exists():
            raise ConfigError("this file, given with --config, does not exist (leave out --config to use "
                              "the default config, or create it with `owner-tui accounts add`)",
                              path=self.config_path)
        return load_config(self.config_path)

    def store(self):
        from owner_tui.store import Store

        return Store.open(self.db_path, config=self.config)


pass_ctx = click.make_pass_decorator(Context)
