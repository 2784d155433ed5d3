"""Reply paths (senders) and the outbox worker that drives them."""


def sender_for(store, account_id: int, config):
    """The reply path for a stored account, or None when none is set up: see
    ``outbox_worker.sender_for`` (imported lazily: the TUI's start-up does not pay for SMTP)."""
    from owner_tui.send.outbox_worker import sender_for as _sender_for

    return _sender_for(store, account_id, config)
