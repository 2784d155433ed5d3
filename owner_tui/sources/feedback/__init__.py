"""On-site feedback: a one-page form customers open from a QR code on the table.

``submission`` turns a posted form into a ``MessageRecord`` on the "on-site" channel and
stores it through ``Store.ingest``; ``page`` draws the form (no JavaScript, every customer
string escaped); ``guard`` holds CSRF tokens and per-client rate limits; ``app`` is the
Starlette application (two routes: ``GET /`` and ``POST /``); ``server`` runs it under
uvicorn; ``card`` prints the QR code and writes the table card; ``alerts`` mails the owner
about a low rating. Nothing here imports Textual; the server is imported only when used.
"""
