"""Twilio: SMS, WhatsApp and missed calls (issue 19)."""
