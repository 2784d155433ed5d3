"""Reply prefill and saved-reply placeholders."""

from __future__ import annotations

from owner_tui import templates


def ctx(name="Amira Haddad", handle="amira@example.net"):
    return templates.context_for(name, handle, owner_name="Sam", signature="Sam\nHarbour Bakery",
                                 business="Harbour Bakery")


def test_placeholders_are_filled():
    body = "Hi {first_name} ({name}),\nthanks from {business}.\n{signature}"
    assert templates.render(body, ctx()) == "Hi Amira (Amira Haddad),\nthanks from Harbour Bakery.\nSam\nHarbour Bakery"


def test_unknown_braces_and_format_tricks_stay_as_typed():
    body = "{0.__class__} {first_name.upper} {nope} {{first_name}}"
    assert templates.render(body, ctx()) == "{0.__class__} {first_name.upper} {nope} {Amira}"


def test_hostile_names_become_one_safe_line():
    c = ctx(name="\x1b]0;pwned\x07Eve\u202e\nSmith [bold]x[/bold]")
    assert "\x1b" not in c["name"] and "\u202e" not in c["name"] and "\n" not in c["name"]
    assert c["first_name"] == "Eve\ufffd"
    assert "[bold]x[/bold]" in c["name"]  # plain text: shown literally, never interpreted


def test_first_name_falls_back_to_there():
    assert templates.first_name("", "x@example.com") == "there"
    assert templates.first_name("x@example.com") == "there"
    assert templates.first_name("  Léa   Moreau ") == "Léa"


def test_email_prefill_greets_and_signs_with_the_cursor_between():
    text, row = templates.prefill("email", None, ctx())
    assert text.startswith("Hi Amira,\n")
    assert text.endswith("Sam\nHarbour Bakery")
    assert text.split("\n")[row] == ""


def test_review_prefill_is_short_public_and_signed_by_the_business():
    happy, _ = templates.prefill("google", 5, ctx())
    unhappy, _ = templates.prefill("trustpilot", 2, ctx())
    assert happy.startswith("Thank you, Amira!") and happy.endswith("— Harbour Bakery")
    assert unhappy.startswith("Amira, \n") and "thank" not in unhappy.lower()  # no canned cheerfulness
    assert "Sam\n" not in happy  # no personal signature on a public reply


def test_review_prefill_without_a_business_name_has_no_dangling_dash():
    c = templates.context_for("Amira", "", owner_name="", signature="", business="")
    text, _ = templates.prefill("google", 5, c)
    assert "—" not in text


def test_a_texter_known_only_by_number_is_greeted_without_it():
    """Found in the demo: a text from a number with no name was prefilled "Hi +44, ". A word
    with no letter in it is no name to greet by."""
    from owner_tui.templates import context_for, first_name, prefill

    assert first_name("+44 7700 900789") == "there"
    assert first_name("07700 900789") == "there"
    assert first_name("Tom") == "Tom" and first_name("Zoë Clarke") == "Zoë" and first_name("李 雷") == "李"
    text, _row = prefill("sms", None, context_for("+44 7700 900789", "+447700900789"))
    assert text == "Hi there, "
