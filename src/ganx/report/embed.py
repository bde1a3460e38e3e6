"""Files as data: URIs, so the page needs nothing but itself, and checks that a file is whole
(a sample writer of a running run may be half way through it)."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

MIME = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml",
    ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg",
}
_PNG_END = b"IEND\xaeB`\x82"


def data_uri(payload: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def is_complete(payload: bytes, suffix: str) -> bool:
    """False for a PNG, JPEG or WAV file that ends before its format says it should."""
    if suffix == ".png":
        return payload.startswith(b"\x89PNG") and payload.rstrip(b"\0").endswith(_PNG_END)
    if suffix in (".jpg", ".jpeg"):
        return payload.startswith(b"\xff\xd8") and payload.endswith(b"\xff\xd9")
    if suffix == ".wav":
        if len(payload) < 12 or payload[:4] != b"RIFF" or payload[8:12] != b"WAVE":
            return False
        (riff_size,) = struct.unpack("<I", payload[4:8])
        return len(payload) >= riff_size + 8
    return len(payload) > 0


def read_embeddable(path: Path) -> str | None:
    """`path` as a data: URI, or None when it is incomplete or of an unknown type."""
    mime = MIME.get(path.suffix.lower())
    if mime is None:
        return None
    payload = path.read_bytes()
    if not is_complete(payload, path.suffix.lower()):
        return None
    return data_uri(payload, mime)
