"""Adding and testing a Twilio account (``owner-tui accounts add twilio``, ``accounts test``).

The test call reads the Account resource (``GET Accounts/{Sid}.json``: are the credentials and
the account good?) and asks ``IncomingPhoneNumbers.json?PhoneNumber=`` for each business
number (is it a number of this account?), one line per step like a mail account's check. The
config gets only how to get the auth token or API key secret, never the secret.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from owner_tui.accounts.check import Check

HELP_URL = "https://www.twilio.com/docs/iam/api-keys"


def secret_name(options: Mapping[str, Any]) -> str:
    """Which secret the account uses: ``api_key_secret`` with an API key, else ``auth_token``."""
    return "api_key_secret" if options.get("api_key_sid") else "auth_token"


def check_twilio(options: Mapping[str, Any], secrets: Callable[[str], str], *, runtime: Any = None,
                 source: str | None = None) -> list[Check]:
    """The secret, the account, then each number; stops at the first failure."""
    from owner_tui.sanitize import one_line
    from owner_tui.sources.reviews.http import SourceError
    from owner_tui.sources.twilio.client import TwilioClient

    which = secret_name(options)
    what = "API key secret" if which == "api_key_secret" else "auth token"
    try:
        secrets(which)
    except Exception as exc:  # SecretError: its words are written to be shown
        return [Check(which, False, str(exc))]
    checks = [Check(which, True, f"{what} read from {source or 'the given source'}")]
    try:
        client = TwilioClient(options, secrets, runtime=runtime)
    except SourceError as exc:
        return checks + [Check("config", False, str(exc))]
    try:
        try:
            acct = client.account()
        except SourceError as exc:
            return checks + [Check("account", False, str(exc))]
        name = one_line(str(acct.get("friendly_name") or acct.get("sid") or ""), limit=60)
        status = str(acct.get("status") or "")
        if status and status != "active":
            return checks + [Check("account", False, f"{name} is {status}, not active: look at it in the Twilio "
                                                     "console")]
        how = "API key" if which == "api_key_secret" else "auth token"
        checks.append(Check("account", True, f"{name} ({status or 'status not given'}), signed in with the {how}"))
        for number in options.get("numbers", []):
            try:
                found = [p for page in client.pages("IncomingPhoneNumbers.json", "incoming_phone_numbers",
                                                    {"PhoneNumber": number}) for p in page]
            except SourceError as exc:
                return checks + [Check("number", False, f"{number}: {exc}")]
            exact = [p for p in found if p.get("phone_number") == number]
            if not exact:
                return checks + [Check("number", False, f"{number} is not a phone number of this Twilio account "
                                                        "(Phone Numbers > Active numbers in the console)")]
            caps = exact[0].get("capabilities") if isinstance(exact[0].get("capabilities"), dict) else {}
            can = [k.upper() for k in ("sms", "mms", "voice") if caps.get(k)]
            checks.append(Check("number", True, f"{number} ({', '.join(can) or 'capabilities not given'})"))
        if options.get("whatsapp_from"):
            checks.append(Check("whatsapp", None, f"{options['whatsapp_from']}: WhatsApp senders are set up in the "
                                                  "Twilio console; the first sync shows whether messages come"))
    finally:
        client.close()
    return checks
