"""Twilio (issue 19): text messages (SMS, MMS, WhatsApp) and missed calls to the business numbers.

``client`` (the HTTP client: Basic auth, paging by ``next_page_uri``, Twilio's error body in
plain words), ``errors`` (the code -> words table), ``sync`` (messages and calls ->
``MessageRecord`` batches with their cursors). Twilio's contract and what in it is assumed:
``tests/servers/TWILIO.md``.
"""
