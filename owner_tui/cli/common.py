"""What every command shares: the exit codes, the one-line errors, and the context that
holds the config and database paths.

Exit codes a script can rely on: 0 success; 1 the work failed (a server, a file, the
database); 2 bad usage or a bad config file.
"""

from __future__ import annotations

import functools
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
        except ConfigError as exc:
            raise UsageFailure(str(exc)) from None
        except (StoreError, SecretError) as exc:
            raise Failure(str(exc)) from None
        except OSError as exc:
            raise Failure(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)) from None

    return wrapper


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
        from owner_tui.config import ConfigError, load_config  # not at import: `--help` needs none of it

        if self.config_explicit and not may_be_new and not self.config_path.exists():
            raise ConfigError("this file, given with --config, does not exist (leave out --config to use "
                              "the default config, or create it with `owner-tui accounts add`)",
                              path=self.config_path)
        return load_config(self.config_path)

    def store(self):
        from owner_tui.store import Store

        return Store.open(self.db_path, config=self.config)


pass_ctx = click.make_pass_decorator(Context)
