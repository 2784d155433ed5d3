"""What the feedback page says, per language. Add a language here and in
``config.FEEDBACK_LANGUAGES``; a missing key falls back to English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "f_comment": "Your message", "f_name": "Your name", "f_contact": "Email or phone", "f_table": "Table or area",
        "title": "How was your visit?",
        "intro": "Tell us now, and we can put it right before you leave.",
        "rating": "Your rating",
        "star": "star", "stars": "stars",
        "comment": "What went well, or what went wrong?",
        "table": "Table or area (optional)",
        "name": "Your name (optional)",
        "contact": "Email or phone, if you would like an answer (optional)",
        "send": "Send",
        "thanks_title": "Thank you",
        "thanks": "Thank you. The team has your message now.",
        "thanks_reply": "We will answer you soon.",
        "reviews": "If you like, you can also leave a public review:",
        "again": "Send another message",
        "error_title": "Please check your message",
        "err_rating": "Choose a rating from 1 to 5 stars.",
        "err_long": "{field} is too long (at most {max} characters).",
        "err_contact": "The email or phone number does not look right.",
        "err_expired": "This page was open for too long, or was opened elsewhere. Please send it again.",
        "err_size": "The message is too large.",
        "err_busy": "Too many messages from this device. Please wait a minute and try again.",
        "err_format": "The form could not be read. Please send it again.",
        "err_store": "We could not save your message just now. Please try again, or tell a member of staff.",
        "not_found": "There is nothing here.",
        "lang": "Language",
    },
    "fr": {
        "f_comment": "Votre message", "f_name": "Votre nom", "f_contact": "E-mail ou téléphone", "f_table": "Table ou espace",
        "title": "Comment s'est passée votre visite ?",
        "intro": "Dites-le-nous maintenant : nous pouvons corriger avant votre départ.",
        "rating": "Votre note", "star": "étoile", "stars": "étoiles",
        "comment": "Qu'est-ce qui vous a plu, ou déplu ?",
        "table": "Table ou espace (facultatif)",
        "name": "Votre nom (facultatif)",
        "contact": "E-mail ou téléphone, si vous souhaitez une réponse (facultatif)",
        "send": "Envoyer",
        "thanks_title": "Merci",
        "thanks": "Merci. L'équipe a reçu votre message.",
        "thanks_reply": "Nous vous répondrons rapidement.",
        "reviews": "Si vous le souhaitez, vous pouvez aussi laisser un avis public :",
        "again": "Envoyer un autre message",
        "error_title": "Veuillez vérifier votre message",
        "err_rating": "Choisissez une note de 1 à 5 étoiles.",
        "err_long": "{field} est trop long (au plus {max} caractères).",
        "err_contact": "L'e-mail ou le numéro de téléphone ne semble pas correct.",
        "err_expired": "Cette page est restée ouverte trop longtemps. Veuillez renvoyer le message.",
        "err_size": "Le message est trop long.",
        "err_busy": "Trop de messages depuis cet appareil. Réessayez dans une minute.",
        "err_format": "Le formulaire n'a pas pu être lu. Veuillez le renvoyer.",
        "err_store": "Votre message n'a pas pu être enregistré. Réessayez ou prévenez le personnel.",
        "not_found": "Il n'y a rien ici.",
        "lang": "Langue",
    },
    "de": {
        "f_comment": "Ihre Nachricht", "f_name": "Ihr Name", "f_contact": "E-Mail oder Telefon", "f_table": "Tisch oder Bereich",
        "title": "Wie war Ihr Besuch?",
        "intro": "Sagen Sie es uns jetzt, dann können wir es richten, bevor Sie gehen.",
        "rating": "Ihre Bewertung", "star": "Stern", "stars": "Sterne",
        "comment": "Was war gut, was lief schief?",
        "table": "Tisch oder Bereich (optional)",
        "name": "Ihr Name (optional)",
        "contact": "E-Mail oder Telefon, wenn Sie eine Antwort möchten (optional)",
        "send": "Senden",
        "thanks_title": "Danke",
        "thanks": "Danke. Das Team hat Ihre Nachricht erhalten.",
        "thanks_reply": "Wir antworten Ihnen bald.",
        "reviews": "Wenn Sie möchten, können Sie auch öffentlich bewerten:",
        "again": "Noch eine Nachricht senden",
        "error_title": "Bitte prüfen Sie Ihre Nachricht",
        "err_rating": "Wählen Sie 1 bis 5 Sterne.",
        "err_long": "{field} ist zu lang (höchstens {max} Zeichen).",
        "err_contact": "Die E-Mail-Adresse oder Telefonnummer scheint nicht zu stimmen.",
        "err_expired": "Die Seite war zu lange geöffnet. Bitte senden Sie erneut.",
        "err_size": "Die Nachricht ist zu groß.",
        "err_busy": "Zu viele Nachrichten von diesem Gerät. Bitte warten Sie eine Minute.",
        "err_format": "Das Formular konnte nicht gelesen werden. Bitte erneut senden.",
        "err_store": "Ihre Nachricht konnte nicht gespeichert werden. Bitte erneut versuchen.",
        "not_found": "Hier gibt es nichts.",
        "lang": "Sprache",
    },
    "es": {
        "f_comment": "Su mensaje", "f_name": "Su nombre", "f_contact": "Correo o teléfono", "f_table": "Mesa o zona",
        "title": "¿Qué tal su visita?",
        "intro": "Díganoslo ahora y podremos arreglarlo antes de que se vaya.",
        "rating": "Su valoración", "star": "estrella", "stars": "estrellas",
        "comment": "¿Qué le gustó o qué salió mal?",
        "table": "Mesa o zona (opcional)",
        "name": "Su nombre (opcional)",
        "contact": "Correo o teléfono, si desea respuesta (opcional)",
        "send": "Enviar",
        "thanks_title": "Gracias",
        "thanks": "Gracias. El equipo ya tiene su mensaje.",
        "thanks_reply": "Le responderemos pronto.",
        "reviews": "Si lo desea, también puede dejar una reseña pública:",
        "again": "Enviar otro mensaje",
        "error_title": "Revise su mensaje",
        "err_rating": "Elija de 1 a 5 estrellas.",
        "err_long": "{field} es demasiado largo (como máximo {max} caracteres).",
        "err_contact": "El correo o el teléfono no parece correcto.",
        "err_expired": "La página estuvo abierta demasiado tiempo. Envíelo de nuevo.",
        "err_size": "El mensaje es demasiado grande.",
        "err_busy": "Demasiados mensajes desde este dispositivo. Espere un minuto.",
        "err_format": "No se pudo leer el formulario. Envíelo de nuevo.",
        "err_store": "No pudimos guardar su mensaje. Inténtelo de nuevo o avise al personal.",
        "not_found": "Aquí no hay nada.",
        "lang": "Idioma",
    },
}

NATIVE = {"en": "English", "fr": "Français", "de": "Deutsch", "es": "Español"}


def text(lang: str, key: str, **kw) -> str:
    s = STRINGS.get(lang, {}).get(key) or STRINGS["en"][key]
    return s.format(**kw) if kw else s


def choose(accept_language: str, query_lang: str, offered: tuple[str, ...]) -> str:
    """``?lang=`` if offered, else the first offered language in Accept-Language order, else
    the owner's first language."""
    if query_lang in offered:
        return query_lang
    weighted = []
    for i, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, i, tag.split("-")[0].lower()))
    for _q, _i, tag in sorted(weighted):
        if tag in offered:
            return tag
    return offered[0]
