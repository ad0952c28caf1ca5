"""An invitation as a QR code: made one way, drawn in a terminal (``amity invite``) or as inline
SVG in the dashboard."""

from __future__ import annotations

import segno

__all__ = ["invitation_qr"]


def invitation_qr(text: str) -> segno.QRCode:
    """Low error correction: a screen is not a torn label, and the code stays small enough for
    an 80-column terminal. ``text`` is the URI in upper case (alphanumeric mode)."""
    return segno.make(text, error="l", boost_error=False)
