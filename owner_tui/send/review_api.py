"""What the review-platform senders share: one lazily opened ``Http`` per sender, errors
turned into ``SendError``, and the cache of replies verified after a crash."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from owner_tui.records import SendResult
from owner_tui.send.sender import SendError
from owner_tui.sources.reviews.common import Runtime, SecretsGetter
from owner_tui.sources.reviews.http import Http, SourceError


def same_text(a: str, b: str) -> bool:
    """Platforms re-wrap whitespace: compare replies by their words."""
    return " ".join(a.split()) == " ".join(b.split())


class ApiReviewSender:
    #: The platform's ``connect(options, secrets_getter, runtime) -> Http``; set by subclasses.
    connect: Callable[[Mapping[str, Any], SecretsGetter, Runtime | None], Http]

    def __init__(self, options: Mapping[str, Any], secrets_getter: SecretsGetter,
                 runtime: Runtime | None = None) -> None:
        self.options = options
        self.secrets_getter = secrets_getter
        self.runtime = runtime or Runtime()
        self._http: Http | None = None
        self._verified: dict[int, SendResult] = {}

    def _conn(self) -> Http:
        if self._http is None:
            try:
                self._http = type(self).connect(self.options, self.secrets_getter, self.runtime)
            except SourceError as exc:
                raise SendError(str(exc), retryable=exc.retryable) from None
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
