"""The person behind a notification: contact forms, shop and marketplace messages, group aliases.

A web-site contact form (Wix, Squarespace, WordPress, Jotform, Typeform, Google Forms...) or a
shop (Shopify, Etsy) sends the customer's message from its own no-reply address. The customer
is in ``Reply-To`` (the usual case), in ``X-Original-From`` (a Google Group that rewrote From
for DMARC), or only in the form's body ("Email: jane@..."). This module finds that person;
``store.ingest`` decides whether to use them (never one of the owner's own addresses).

Pure functions over a parsed record's headers and text: no store, no network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from owner_tui.mail.addresses import person
from owner_tui.threader import is_reply_subject

#: Local parts that a person does not write from (notifications, forms, shops).
_MACHINE_LOCAL = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|donotreply|noreply[-_.+].*|notifications?|notify|alerts?|"
    r"mailer|wordpress|forms?|form[-_.]?submissions?|formresponses|submissions?|wix[-_.]?forms|"
    r"forms[-_.]receipts[-_.]noreply|contact[-_.]?form|webform|website|web|bounce[s]?|automated|system|"
    r"info[-_.]?noreply|hello[-_.]?noreply|transaction|conversations?|orders?[-_.]?noreply|"
    r"n[aã]o[-_.]?respond(?:a|er)|no[-_.]?respond(?:a|er)|no[-_.]?contestar|ne[-_.]?pas[-_.]?r[ée]pondre|"
    r"nicht[-_.]?antworten|keine[-_.]?antwort|niet[-_.]?beantwoorden|non[-_.]?rispondere)(\+.*)?@",
    re.I)

#: Services whose mail carries someone else's message (checked against the From domain).
PLATFORM_DOMAINS = (
    "wix.com", "wixforms.com", "wixemails.com", "squarespace.com", "squarespace.info", "sqspmail.com",
    "jotform.com", "jotform.eu", "typeform.com", "typeform.io", "formspree.io", "netlify.com", "hubspot.com",
    "hsforms.com", "shopify.com", "shopifyemail.com", "etsy.com", "mail.etsy.com",
    "wufoo.com", "cognitoforms.com", "zohoforms.com", "123formbuilder.com", "formstack.com", "paperform.co",
    "tally.so", "weebly.com", "webflow.com", "gravityforms.com", "wpforms.com",
    "bigcommerce.com", "ecwid.com", "woocommerce.com", "airbnb.com", "booking.com", "thumbtack.com",
    "yelp.com", "houzz.com", "bark.com", "opentable.com", "resy.com", "sevenrooms.com",
)
_PLATFORMS = frozenset(PLATFORM_DOMAINS)

_ADDR = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
#: A form's label for the visitor's address, in the languages forms are built in: "Email",
#: "Email Address", "Your email", "E-mailadres", "E-Mail-Adresse", "Indirizzo email",
#: "Adresse e-mail", "Correo electrónico", "Dirección de correo", "Mail", "Reply-To".
#: A form that asks in sentences (Typeform, Tally, Google Forms): "What's your email?",
#: "And your email address, Jane?", "Please enter your name".
_ASK = (r"(?:(?:hi(?:\s+there)?,?\s+|and\s+|so,?\s+)?(?:what(?:'s|’s|\s+is)|please\s+(?:enter|give|provide|share|leave)|"
        r"enter|could\s+(?:we|i)\s+(?:have|get)|can\s+(?:we|i)\s+(?:have|get)|may\s+(?:we|i)\s+have)\s+|and\s+)?")
#: How such a question ends: "...your email address, Jane?".
_ASKED = r"(?:,[^\n:?@]{1,30}(?=\?))?\??"
_MAIL_LABEL = (
    # Up to two words before it ("Your email", "Invitee Email", "Indirizzo email", "Adresse de
    # courriel"), a qualifier after it ("E-mail do Interessado", "Email of guest").
    _ASK + r"(?:[^\W\d_][\w'’.]*\s+){0,2}"
    r"(?:(?:e-?mail|courriel|correo|e-?post|mail|s[äa]hk[öo]posti)"
    r"(?:[-\s]?(?:address|adresse|adres|addr|electr[oó]nico|[ée]lectronique))?"
    r"(?:\s+(?:do|da|de|del|du|des|of|for)\s+[^\W\d_][\w-]*)?"
    r"|reply[- ]to|responder\s+(?:para|a)|antworten\s+an|r[ée]pondre\s+[àa])" + _ASKED)
#: What may follow a label before its separator: "(required)", "*".
_LABEL_TAIL = r"\"?\s*(?:\([^)\n]{0,30}\))?\s*\**"
#: "Email: jane@x.example", "E-mail address - jane@...", "Your email | jane@...", "Email (required): ...".
_EMAIL_FIELD = re.compile(
    r"^[ \t*>_|\"-]*" + _MAIL_LABEL + _LABEL_TAIL + r"\s*(?:[:=|\-–]|\t)?\s*[*\"]*\s*(?:<|\[|mailto:)?(" + _ADDR + r")",
    re.I | re.M)
#: The label on its own line, the value on the next (Google Forms, Wix and Shopify tables).
_EMAIL_LABEL_LINE = re.compile(
    r"^[ \t*>_|\"-]*" + _MAIL_LABEL + _LABEL_TAIL + r"\s*:?\s*\**\s*\n[ \t\n]*(?:<|\[|mailto:)?(" + _ADDR + r")",
    re.I | re.M)
_NAME_LABEL = (_ASK + r"(?:(?:(?:your|ihr|votre|su|tu|uw|full|customer|contact|client|guest)\s+)?"
               r"(?:name|naam|nome|nom|nombre|navn|namn|imi[eę]|jm[ée]no|nimi)(?:\s+complet[oa])?"
               r"|cliente?|customer|kunde|interessad[oa]|interesad[oa])" + _ASKED)
_NAME_FIELD = re.compile(
    r"^[ \t*>_|\"-]*" + _NAME_LABEL + _LABEL_TAIL + r"\s*(?:[:=|\-–]|\t)\s*[*\"]*\s*([^\n<>@\"]{1,80})\"?,?$", re.I | re.M)
#: The label on its own line and the name on the next (WPForms, Gravity Forms, Google Forms).
_NAME_LABEL_LINE = re.compile(
    r"^[ \t*>_|\"-]*" + _NAME_LABEL + _LABEL_TAIL + r"\s*:?\s*\**\s*\n[ \t]*([^\n<>@:]{1,80})$", re.I | re.M)
_FIRST_LAST = (
    re.compile(r"^[ \t*>_|-]*(?:first\s+name|given\s+name|vorname|pr[ée]nom|voornaam|nombre)" + _LABEL_TAIL
               + r"\s*(?:[:=|\-–]|\t)\s*\**\s*([^\n<>@]{1,40})$", re.I | re.M),
    re.compile(r"^[ \t*>_|-]*(?:last\s+name|surname|family\s+name|nachname|nom\s+de\s+famille|achternaam|apellidos?|"
               r"cognome)" + _LABEL_TAIL + r"\s*(?:[:=|\-–]|\t)\s*\**\s*([^\n<>@]{1,40})$", re.I | re.M))
#: A form's field for what the visitor wrote ("Message:", "Comment or Message", "Your enquiry",
#: "Nachricht", "Bericht", "Messaggio"): with a name or message field beside the address, a
#: body is a form's, not a receipt that lists its shop's support address.
_MESSAGE_WORDS = (
    r"(?:(?:your|ihre|votre|su|uw)\s+)?(?:message(?:\s+body)?|comments?(?:\s+or\s+message)?|enquiry|inquiry|questions?|"
    r"details|request|notes?\s+from\s+(?:the\s+)?(?:buyer|customer|guest|client)|special\s+(?:requests?|instructions)|"
    r"how\s+can\s+we\s+help(?:\s+you)?\??|nachricht|mitteilung|anfrage|bericht|vraag|messaggio|richiesta|mensaje|"
    r"consulta|commentaires?|demande|mensagem|wiadomo[śs][ćc]|coment[áa]rios?(?:\s+do\s+cliente)?|comentario|"
    r"observa[çc](?:[ãa]o|[õo]es)|corpo\s+da\s+mensagem)")
_MESSAGE_FIELD = re.compile(r"^[ \t*>_|-]*" + _MESSAGE_WORDS + _LABEL_TAIL + r"\s*(?::|$)", re.I | re.M)
#: Local-part words of notification accounts: "rosiesbakery.forms@", "shop-notifications@".
_MACHINE_TOKENS = frozenset({"noreply", "no-reply", "donotreply", "notification", "notifications", "notify", "forms",
                             "form", "webform", "webforms", "wordpress", "submissions", "submission", "mailer",
                             "autoresponder", "formresponses"})
#: A display name that names a form or a notification rather than a person.
_MACHINE_NAME = re.compile(r"\b(forms?|form\s+submissions?|submissions?|notifications?|website|web\s+site|"
                           r"contact\s+us|enquiry\s+form|inquiry\s+form|order\s+form|booking\s+form)\b", re.I)
#: Contact Form 7's default template: "From: Jane Morgan <jane@mail.example>" in the body.
_BODY_FROM = re.compile(r"^[ \t*>]*(?:from|sender|von|de|reply-to|responder\s+(?:para|a)|antworten\s+an|"
                        r"r[ée]pondre\s+[àa])\s*:\s*([^<\n]{0,80}?)\s*<(" + _ADDR + r")>", re.I | re.M)
#: The other fields of a header block quoted in a body (a forward's "To:", "Assunto:", "Data:"):
#: a "From:" among them is a forwarded mail's, not a form's field.
_QUOTED_HEADER = re.compile(r"^[ \t*>]*(?:to|para|an|à|cc|c[óo]pia|date|data|fecha|datum|sent|enviad[oa]|"
                            r"gesendet|envoy[ée])\s*:", re.I)
_VIA = re.compile(r"^\s*['\"]?(.*?)['\"]?\s+via\s+.+$", re.I)


@dataclass(frozen=True)
class Lead:
    """A person found behind a notification: their address and name, and how they were found."""

    handle: str
    name: str
    how: str
    #: Carried by a form or a platform (not a group alias, not just any no-reply sender): the
    #: mailer's own list headers (List-Unsubscribe, Precedence: bulk) say nothing of the person.
    form: bool = False


def _machine_local(handle: str) -> bool:
    """The local part (of a lower-case address) names a machine: no-reply@, forms@, shop-notifications@."""
    local = handle.partition("@")[0]
    return (bool(_MACHINE_LOCAL.match(handle)) or bool(set(re.split(r"[._+-]", local)) & _MACHINE_TOKENS)
            or re.sub(r"[._+-]", "", local).startswith(("noreply", "donotreply")))  # "no-reply-2026@"


#: Local-part words of a form's or a site's sender: "wordpress@", "form-submission@", "webforms@".
_FORM_TOKENS = frozenset({"form", "forms", "webform", "webforms", "wordpress", "submission", "submissions",
                          "formresponses", "wix", "contactform"})


#: What form and shop notifications say in their subjects ("New submission: Contact us",
#: "Form Submission - New Form", "New Entry: Contact Form", "New response to Cake enquiry").
_FORM_SUBJECT = re.compile(
    r"\b(?:new\s+(?:form\s+)?(?:submission|entry|response|lead|inquiry|enquiry|customer\s+message|message\s+from)|"
    r"form\s+(?:submission|entry)|contact\s+form|submission\s+from|website\s+(?:enquiry|inquiry|contact|message)|"
    r"contact\s+request|(?:enquiry|inquiry)\s+from|"
    # The same in the languages sites are built in: "Novo lead", "Nueva solicitud", "Neue
    # Anfrage", "Kontaktformular", "Nouvelle demande", "Modulo di contatto", "Nieuw bericht".
    r"nov[oa]\s+(?:lead|mensagem|contato|solicita[çc][ãa]o|pedido\s+de\s+contato)|formul[áa]rio\s+de\s+contato|"
    r"nuev[oa]\s+(?:lead|mensaje|contacto|solicitud|consulta)|formulario\s+de\s+contacto|"
    r"neue\s+(?:nachricht|anfrage|formular\w*)|kontakt(?:anfrage|formular)|"
    r"nouve(?:au|lle)\s+(?:message|demande|contact|soumission)|formulaire\s+de\s+contact|"
    r"nuov[oa]\s+(?:messaggio|richiesta|contatto)|modulo\s+di\s+contatto|"
    r"nieuw(?:e)?\s+(?:bericht|aanvraag|inzending|contactverzoek)|contactformulier|"
    # Whole families: any "formulário de ...", a quote or estimate request, "... is interested in".
    r"formul[áa]rio|formulaire|or[çc]amento|cota[çc][ãa]o|presupuesto|cotizaci[óo]n|devis|"
    r"quote\s+request|request\s+(?:for\s+)?a\s+quote|is\s+interested\s+in|tenho\s+interesse|offline\s+message|lead|"
    r"propost[ao]|propuesta)\b",
    re.I)
#: What a site's form mailer writes under the fields, in any language: Elementor's metadata
#: ("Page URL:", "Remote IP:", "Powered by: Elementor"), Contact Form 7's "This e-mail was sent
#: from a contact form on ...", a builder's "Sent via ... (https://...)".
_FORM_FOOTER = re.compile(
    r"^(?:--\s+)?(?:[^\n:]{1,30}:\s*elementor\s*$|remote\s+ip:|ip\s+remot[oa]:|(?:page\s+url|url\s+da\s+p[áa]gina|"
    r"url\s+de\s+la\s+p[áa]gina):\s*https?://|"
    r"this\s+e-?mail\s+was\s+sent\s+from\s+a\s+(?:contact\s+)?form|\(?sent\s+via\s+.{1,60}\(https?://|"
    r"(?:este|esta|diese|cet|questa|deze)\s+(?:e-?mail|mensagem|mensaje|nachricht|message|messaggio|bericht)[^\n]{0,40}"
    r"(?:formul[áa]rio|formulario|formular|formulaire|modulo|form))",
    re.I | re.M)
#: How far from the end of a body its mailer's footer is looked for.
_FOOTER_TAIL = 2000
#: A word each footer holds: most mail has none, and is spared the line-by-line search.
_FOOTER_WORDS = ("elementor", "remote ip", "ip remot", "page url", "url da p", "url de la", "contact form",
                 "a form", "formul", "formular", "sent via", "modulo")


def _form_footer(body: str) -> bool:
    tail = body[-_FOOTER_TAIL:]
    lower = tail.lower()
    return any(w in lower for w in _FOOTER_WORDS) and bool(_FORM_FOOTER.search(tail))


def is_form_sender(handle: str) -> bool:
    """A form service's or a marketplace's sender (its domain), or a site's form mailer (its
    local part), as opposed to any company's no-reply newsletter address."""
    handle = (handle or "").lower()
    local = handle.partition("@")[0]
    return (bool(set(re.split(r"[._+-]", local)) & _FORM_TOKENS) or "contact-form" in local
            or _on_platform(handle.rpartition("@")[2]))


def _on_platform(domain: str) -> bool:
    """``domain`` is one of ``PLATFORM_DOMAINS`` or under one."""
    if domain in _PLATFORMS:
        return True
    dot = domain.find(".")
    while dot >= 0:
        if domain[dot + 1:] in _PLATFORMS:
            return True
        dot = domain.find(".", dot + 1)
    return False


#: Mailbox providers whose domain is shared by strangers: an owner on one of them has no site
#: domain of her own, so a sender there is never "her site".
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "live.com",
    "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "ymail.com", "icloud.com",
    "me.com", "mac.com", "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "t-online.de", "freenet.de",
    "orange.fr", "free.fr", "laposte.net", "sfr.fr", "wanadoo.fr", "libero.it", "virgilio.it", "tiscali.it",
    "proton.me", "protonmail.com", "pm.me", "mail.ru", "yandex.ru", "yandex.com", "zoho.com", "fastmail.com",
    "btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "qq.com", "163.com",
    "naver.com", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "bluewin.ch", "telenet.be", "ziggo.nl", "kpnmail.nl",
})


def site_domains(own: frozenset[str]) -> frozenset[str]:
    """The owner's own domains: those of her addresses, less free-mail domains."""
    return frozenset(a.rpartition("@")[2] for a in own) - FREE_MAIL_DOMAINS - {""}


def is_sibling(handle: str, own: frozenset[str], domains: frozenset[str] | None = None) -> bool:
    """Another address on the owner's own domain (not one of hers, not a free-mail domain):
    how a site's contact form or a host's form-to-mail script sends ("kontakt@", "email@",
    "admin@" the shop's domain). ``domains``: ``site_domains(own)``, when already known."""
    handle = (handle or "").lower()
    return handle.rpartition("@")[2] in (site_domains(own) if domains is None else domains) and handle not in own


def is_machine_sender(handle: str) -> bool:
    """A notification or form address rather than a person's (no-reply@, wordpress@, a form
    service's domain)."""
    handle = (handle or "").lower()
    if _machine_local(handle):
        return True
    return _on_platform(handle.rpartition("@")[2])


#: A per-conversation relay's local part: an opaque token, not a word a desk or a person picks
#: ("26d6okv5b4cvh5fbnulsf0mitvfk", "ngrubo.974870", "m+82egqjq000000975o32"), at least 12
#: characters with a digit in them.
_RELAY_LOCAL = re.compile(r"^(?=[^@]*\d)[^@]{12,}$")


def is_relay(handle: str) -> bool:
    """A marketplace's masked address for one person or one conversation (Airbnb's
    ``…@reply.airbnb.com``, Booking.com's ``name.974870@guest.booking.com``): mail to it reaches
    that person, so it stands for them even on a platform's domain."""
    handle = (handle or "").lower()
    local, _, domain = handle.rpartition("@")
    return bool(local and domain) and not _machine_local(handle) and bool(_RELAY_LOCAL.match(local))


def customer_address(addr: str) -> bool:
    """An address a customer can be reached at: a person's, or a platform's relay for them."""
    return not is_machine_sender(addr) or is_relay(addr)


def _without_platform(name: str, addr: str) -> str:
    """"Do Viet (Airbnb)" from a relay at reply.airbnb.com -> "Do Viet": the label names the
    platform, not the person."""
    m = re.match(r"^(.*?)\s*\(\s*(?:via\s+)?([^()]{1,40}?)\s*\)\s*$", (name or "").replace("\"", ""))
    if not m or not m.group(1).strip():
        return name
    label = m.group(2).lower().replace(" ", "")
    domain = addr.rpartition("@")[2].lower()
    parts = domain.split(".")
    suffixes = {".".join(parts[i:]) for i in range(len(parts))}
    return m.group(1) if label in suffixes or label in parts else name


def _clean_name(name: str) -> str:
    name = " ".join((name or "").replace("\"", "").split())
    m = _VIA.match(name)
    return m.group(1).strip() if m else name


def find_lead(sender_handle: str, sender_name: str, headers: dict[str, str], text: str, *,
              own: frozenset[str] = frozenset(), grouped: bool = False, subject: str = "",
              self_sent: str = "", recipients: tuple[str, ...] | None = None) -> Lead | None:
    """The person a notification is from, or ``None`` when the sender is that person.

    ``own`` are the owner's addresses (never a customer); ``grouped`` says the message came
    through one of the owner's group aliases (its From may be the alias itself). ``subject``
    helps tell a form's notification ("New submission: ...") from a company's no-reply mail
    with a Reply-To (``Lead.form``). ``self_sent`` says the message came into the inbox from
    one of the owner's addresses to the owner alone, as a site's contact form sends it when
    it mails from the site's own address: ``"reply-to"`` lets only its Reply-To name the
    person, ``"body"`` its form fields too (for a message that starts a thread, not a reply
    or a forward, whose body would quote other people's addresses). ``recipients`` (To/Cc, when
    known): a sender mailing only itself, everyone else in Bcc, sends a circular, not a form.
    """
    sender = (sender_handle or "").lower()
    from_own_group = grouped and sender in own
    body = (text or "")[:20000]
    machine = bool(from_own_group or self_sent or is_machine_sender(sender) or _MACHINE_NAME.search(sender_name or ""))
    # A form's notification from an ordinary-looking address (Elementor's "email@" the site's
    # domain, named after the site): its subject or its mailer's footer, and its fields, say
    # what it is. Not a reply or a forward ("Fwd: Website enquiry"), which quotes other mail.
    form_like = (not machine and sender not in own and not is_reply_subject(subject)
                 and bool(_FORM_SUBJECT.search(subject or "") or _form_footer(body) or _form_start(body))
                 and _form_shaped(body))
    if not (machine or form_like):
        return None
    if recipients is not None and not (from_own_group or self_sent) and set(recipients) <= {sender}:
        return None  # "noreply@" to "noreply@", everyone in Bcc: a circular, whatever its Reply-To
    for key, how in (("x-original-from", "the group's X-Original-From"), ("reply-to", "Reply-To")):
        name, addr = person(headers.get(key, ""))
        if addr and addr != sender and addr not in own and customer_address(addr):
            via = ("group alias" if from_own_group else
                   "form mailing from your own address" if self_sent and sender in own else
                   "form mailing from your site's address" if self_sent else
                   "form or platform notification")
            name = (_clean_name(_without_platform(name, addr)) or _clean_name(sender_name if from_own_group else "")
                    or (_body_name(body) if addr in body.lower() else ""))
            if is_machine_sender(addr):
                how += ", the platform's relay address for them"
            form = not from_own_group and (is_relay(addr) or is_form_sender(sender) or bool(self_sent)
                                           or form_like or bool(_FORM_SUBJECT.search(subject or "")))
            return Lead(addr, name, f"{via} from {sender or 'no address'}: the customer is in {how}", form)
    if from_own_group or self_sent == "reply-to":
        return None
    if self_sent and sender not in own and not _form_shaped(body):
        return None  # a colleague's note from the shop's domain that names an address: theirs
    if not (self_sent or is_form_sender(sender) or _FORM_SUBJECT.search(subject or "")
            or _ORDER_SUBJECT.search(subject or "") or _form_shaped(body)):
        return None  # a receipt or an alert that names some address: not a form
    # Never the sender's own colleagues (the shop's "mkt@" in a forwarded header) or the owner's.
    theirs = {sender.rpartition("@")[2]} - FREE_MAIL_DOMAINS | site_domains(own)

    def visitor(addr: str) -> bool:
        return (addr != sender and addr not in own and not is_machine_sender(addr)
                and addr.rpartition("@")[2] not in theirs)

    for m in _BODY_FROM.finditer(body):
        if visitor(m.group(2).lower()) and not _in_quoted_header(body, m.start(), m.end()):
            return Lead(m.group(2).lower(), _clean_name(m.group(1)) or _body_name(body),
                        f"form notification from {sender or 'no address'}: the customer is in the form's From field",
                        True)
    m = _EMAIL_FIELD.search(body) or _EMAIL_LABEL_LINE.search(body)
    while m:
        addr = m.group(1).lower().rstrip(".")
        if visitor(addr):
            return Lead(addr, _body_name(body), f"form notification from {sender or 'no address'}: "
                        "the customer's address is in the form's Email field", True)
        m = _EMAIL_FIELD.search(body, m.end())
    return None


#: What a shop's or marketplace's order notification says in its subject: "You made a sale on
#: Etsy", "[Shop] Order #1043 placed by Jane", WooCommerce's "[Shop]: New order #1234", "Sold,
#: ship now", "Neue Bestellung", "Nouvelle commande", "Nuevo pedido", "Nuovo ordine".
_ORDER_SUBJECT = re.compile(
    r"\b(?:you\s+made\s+a\s+sale|new\s+order|order\s+#?\s*[\w-]*\d[\w-]*\s+(?:placed|received)|"
    r"you(?:'ve|\s+have)?\s+sold|sold,?\s+ship\s+now|your\s+item\s+sold|new\s+sale|"
    r"neue\s+bestellung|nouvelle\s+commande|nuevo\s+pedido|nuovo\s+ordine|nieuwe\s+bestelling)\b", re.I)
#: Where an order carries words from the buyer: Etsy's "Note from buyer", Shopify's and
#: WooCommerce's order "Note", "Special instructions", "Gift message"; and a form's message
#: field (a contact form whose subject says "New order for Christmas" is a message).
_BUYER_NOTE = re.compile(
    r"^[ \t*>_|-]*(?:(?:order|customer|buyer)\s+notes?|notes?|additional\s+(?:information|comments|notes)|"
    r"gift\s+message|message\s+from\s+(?:the\s+)?(?:buyer|customer)|" + _MESSAGE_WORDS + r")"
    + _LABEL_TAIL + r"\s*:?[ \t]*(.*)$", re.I | re.M)
#: Lines that start another part of an order, not a note's words.
_ORDER_PART = re.compile(
    r"^(?:order\s+(?:details|summary|number|total|#)|shipping|billing|payment|items?\b|quantity|sub-?total|total|"
    r"customer\s+(?:information|details)|buyer\b|delivery|tax|discount|ship\s+by)", re.I)


def order_without_note(subject: str, text: str) -> bool:
    """A shop's order or sale notification in which the buyer wrote nothing: an order to
    fulfil in the shop, not a message that waits for a reply. With a note from the buyer
    ("Could you write Happy Christmas on it?") it is their message."""
    if not _ORDER_SUBJECT.search(subject or "") or _FORM_SUBJECT.search(subject or ""):
        return False  # "New Order Form Submission": a visitor's custom order asks for an answer
    body = (text or "")[:20000]
    for m in _BUYER_NOTE.finditer(body):
        words = m.group(1).strip()
        if not words:  # the label on its own line: the note is the next lines, up to a blank one
            rest = body[m.end():].lstrip("\r\n").split("\n\n", 1)[0].strip()
            words = "" if not rest or _ORDER_PART.match(rest) or rest.endswith(":") else rest
        if words and words.lower() not in ("none", "n/a", "-", "—"):
            return False
    return True


#: "Label: value" (or a label and its colon alone) at the start of a line: a form's field.
_FIELD_LINE = re.compile(r"^[ \t*>_|\"-]*[^\W\d_][^\n:]{0,40}?[\"*]*\s*:[*\"]*(?:\s|$)")


#: A known label alone on its line, its value on the next: "Nome" / "Rafaela", "Email" / "...".
_LABEL_ALONE = re.compile(r"^[ \t*>_|\"-]*(?:" + _NAME_LABEL + "|" + _MAIL_LABEL + "|" + _MESSAGE_WORDS + r"|"
                          r"phone|telephone|t[ée]l[ée]phone|telefone|tel[ée]fono|tel|celular|mobile|handy|cell)"
                          + _LABEL_TAIL + r"\s*:?[*\"]*\s*$", re.I)


#: How a person's letter opens: a greeting, or a first line ending in a comma ("Rosie,").
_GREETING = re.compile(
    r"^\W*(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|ol[áa]|oi|bom\s+dia|boa\s+(?:tarde|noite)|hola|"
    r"buen[oa]s|estimad[oa]s?|bonjour|bonsoir|salut|madame|monsieur|hallo|guten|liebe[rs]?|sehr\s+geehrte|ciao|"
    r"buongiorno|buonasera|gentile|hej|hoi|beste|geachte|dag)\b|^[^\n:]{1,60},\s*$", re.I)


def _form_start(body: str) -> bool:
    """The body opens with a form's fields: three or more "Label: value" lines (or known labels
    alone on their lines) among its first fifteen lines, two of them among its first five (a
    site's own mailer, whatever its sender or subject). A person's letter opens with a
    greeting and sentences."""
    if body.count(":", 0, 600) < 2 and body.count("\n", 0, 200) < 4:
        return False  # no two "Label:" near the top, nor short label lines: a letter (most mail)
    lines = [ln for ln in body[:1500].splitlines() if ln.strip()][:15]
    if lines and _GREETING.match(lines[0]):
        return False  # "Hi Rosie," then her sister's details: a letter
    fields = 0
    for i, ln in enumerate(lines):
        if i == 5 and fields < 2:
            return False
        if _FIELD_LINE.match(ln) or (len(ln) <= 40 and _LABEL_ALONE.match(ln)):
            fields += 1
    return fields >= 3


def _form_shaped(body: str) -> bool:
    """The body has a form's name or message field beside its address field."""
    return bool(_NAME_FIELD.search(body) or _NAME_LABEL_LINE.search(body) or _FIRST_LAST[0].search(body)
                or _MESSAGE_FIELD.search(body))


def _in_quoted_header(body: str, start: int, end: int) -> bool:
    """The line at ``start``..``end`` sits in a header block quoted in the body (a forward's
    From with its To/Date/Sent lines right beside it)."""
    before = body[max(0, start - 400):start].splitlines()[-3:]
    after = body[end:end + 400].splitlines()[1:4]
    return any(_QUOTED_HEADER.match(ln) for ln in before + after)


def _body_name(body: str) -> str:
    m = _NAME_FIELD.search(body) or _NAME_LABEL_LINE.search(body)
    first = _FIRST_LAST[0].search(body)
    if m:
        name = _clean_name(m.group(1))
        if len(name.split()) != 1:
            return name
        # French and Spanish forms: "Nom : Martin" beside "Prénom : Rémi", "Nombre: Ana" beside
        # "Apellidos: García": one word in the name field, the rest in the others.
        last = _FIRST_LAST[1].search(body)
        words: list[str] = []
        for part in (_clean_name(first.group(1)) if first else "", name, _clean_name(last.group(1)) if last else ""):
            if part and part.lower() not in (w.lower() for w in words):
                words.append(part)
        return " ".join(words)
    parts = [first, _FIRST_LAST[1].search(body)]
    return " ".join(_clean_name(p.group(1)) for p in parts if p).strip()
