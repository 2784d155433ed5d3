"""The feedback page's HTML: the form, the thank-you page and the error page.

No JavaScript, one inline stylesheet (allowed by its hash in the CSP), a few kB in all.
Everything a customer typed is passed through ``html.escape`` (quotes too) before it is
written into a page: it is only ever shown as text inside a field, never as markup.
Accessible: every control has a label, the stars are a radio group in a fieldset, colours
pass WCAG AA contrast, focus is clearly outlined, and the page follows the browser's font size.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from owner_tui.sources.feedback.strings import NATIVE, text
from owner_tui.sources.feedback.submission import LIMITS

CSS = """
*{box-sizing:border-box}
body{margin:0;font:1.05rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fafafa}
main{max-width:32rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}
.biz{color:#444;margin:0}
label,legend{display:block;font-weight:600;margin:.9rem 0 .3rem}
fieldset{border:0;padding:0;margin:0}
.stars{display:flex;gap:.3rem;flex-wrap:wrap}
.stars label{margin:0;font-weight:400}
.stars input{position:absolute;opacity:0;width:1px;height:1px}
.stars span{display:inline-block;min-width:3.2rem;padding:.5rem .4rem;border:2px solid #555;border-radius:.5rem;
text-align:center;background:#fff}
.stars input:checked+span{background:#1a4d8f;color:#fff;border-color:#1a4d8f}
.stars input:focus-visible+span,input:focus-visible,textarea:focus-visible,select:focus-visible,button:focus-visible,
a:focus-visible{outline:3px solid #b35900;outline-offset:2px}
input[type=text],input[type=email],textarea,select{width:100%;font:inherit;padding:.5rem;border:2px solid #555;
border-radius:.4rem;background:#fff;color:#1a1a1a}
textarea{min-height:7rem}
button{margin-top:1.2rem;width:100%;font:inherit;font-weight:700;padding:.8rem;border:0;border-radius:.5rem;
background:#1a4d8f;color:#fff}
.hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.err{border:2px solid #a30000;background:#fff0f0;color:#6b0000;padding:.6rem;border-radius:.4rem}
.langs{margin-top:1.5rem;font-size:.9rem}
a{color:#1a4d8f}
""".strip()

CSS_HASH = "sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()


def _page(lang: str, title: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{body}</main></body></html>")


def _langs(lang: str, offered: tuple[str, ...]) -> str:
    if len(offered) < 2:
        return ""
    links = " · ".join(
        (f"<strong>{escape(NATIVE[code])}</strong>" if code == lang else
         f'<a href="/?lang={code}" hreflang="{code}" lang="{code}">{escape(NATIVE[code])}</a>') for code in offered)
    return f'<nav class="langs" aria-label="{escape(text(lang, "lang"))}">{links}</nav>'


def form_page(*, business: str, lang: str, offered: tuple[str, ...], token: str, tables: tuple[str, ...] = (),
              values: dict[str, str] | None = None, errors: list[str] | None = None, table_hint: str = "") -> str:
    """The form. ``values`` refill it after an error (escaped); ``errors`` are already words."""
    v = values or {}
    t = lambda key, **kw: escape(text(lang, key, **kw))  # noqa: E731
    out = [f"<h1>{t('title')}</h1>"]
    if business:
        out.append(f'<p class="biz">{escape(business)}</p>')
    if errors:
        items = "".join(f"<li>{escape(e)}</li>" for e in errors)
        out.append(f'<div class="err" role="alert"><strong>{t("error_title")}</strong><ul>{items}</ul></div>')
    else:
        out.append(f"<p>{t('intro')}</p>")
    out.append('<form method="post" action="/" accept-charset="utf-8">')
    out.append(f'<input type="hidden" name="token" value="{escape(token)}">'
               f'<input type="hidden" name="lang" value="{escape(lang)}">')
    out.append(f'<fieldset><legend id="rating-label">{t("rating")}</legend><div class="stars" role="radiogroup" '
               'aria-labelledby="rating-label">')
    for n in range(1, 6):
        checked = " checked" if v.get("rating") == str(n) else ""
        word = t("star") if n == 1 else t("stars")
        out.append(f'<label><input type="radio" name="rating" value="{n}" required{checked}>'
                   f'<span aria-hidden="true">{"★" * n}</span><span class="hp">{n} {word}</span></label>')
    out.append("</div></fieldset>")
    out.append(f'<label for="comment">{t("comment")}</label><textarea id="comment" name="comment" '
               f'maxlength="{LIMITS["comment"]}" rows="5">{escape(v.get("comment", ""))}</textarea>')
    table = v.get("table", table_hint)
    if tables:
        opts = ['<option value=""></option>'] + [
            f'<option{" selected" if name == table else ""}>{escape(name)}</option>' for name in tables]
        out.append(f'<label for="table">{t("table")}</label><select id="table" name="table">{"".join(opts)}</select>')
    else:
        out.append(f'<label for="table">{t("table")}</label><input type="text" id="table" name="table" '
                   f'maxlength="{LIMITS["table"]}" value="{escape(table)}" autocomplete="off">')
    out.append(f'<label for="name">{t("name")}</label><input type="text" id="name" name="name" '
               f'maxlength="{LIMITS["name"]}" value="{escape(v.get("name", ""))}" autocomplete="name">')
    out.append(f'<label for="contact">{t("contact")}</label><input type="text" id="contact" name="contact" '
               f'maxlength="{LIMITS["contact"]}" value="{escape(v.get("contact", ""))}" autocomplete="email" '
               'inputmode="email">')
    # The honeypot: hidden from people and screen readers, filled by form-spamming bots.
    out.append('<div class="hp" aria-hidden="true"><label for="website">Website</label>'
               '<input type="text" id="website" name="website" tabindex="-1" autocomplete="off"></div>')
    out.append(f'<button type="submit">{t("send")}</button></form>')
    out.append(_langs(lang, offered))
    return _page(lang, text(lang, "title"), "".join(out))


def thanks_page(*, business: str, lang: str, review_links: dict[str, str], will_reply: bool) -> str:
    t = lambda key: escape(text(lang, key))  # noqa: E731
    out = [f"<h1>{t('thanks_title')}</h1>"]
    if business:
        out.append(f'<p class="biz">{escape(business)}</p>')
    out.append(f'<p role="status">{t("thanks")}{" " + t("thanks_reply") if will_reply else ""}</p>')
    # Offered to everyone alike, whatever the rating: platforms forbid asking only happy customers.
    if review_links:
        items = "".join(f'<li><a href="{escape(url)}" rel="noopener noreferrer">{escape(name)}</a></li>'
                        for name, url in review_links.items())
        out.append(f"<p>{t('reviews')}</p><ul>{items}</ul>")
    out.append(f'<p><a href="/?lang={escape(lang)}">{t("again")}</a></p>')
    return _page(lang, text(lang, "thanks_title"), "".join(out))


def message_page(*, lang: str, title_key: str, message: str, back: bool = True) -> str:
    """A plain page for refusals (too many requests, too large, expired, not found)."""
    link = f'<p><a href="/?lang={escape(lang)}">{escape(text(lang, "again"))}</a></p>' if back else ""
    return _page(lang, text(lang, title_key),
                 f'<h1>{escape(text(lang, title_key))}</h1><p class="err" role="alert">{escape(message)}</p>{link}')
