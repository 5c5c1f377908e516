"""The consumers' opaque token: a position in the change log, (commit number, change
id), meaning "every change up to and including this one has been handed out".

Wire form: base64url (no padding) of version byte 1, the two numbers as unsigned
64-bit big-endian integers, and an 8-byte keyed BLAKE2b of those 17 bytes under the
database's feed epoch (`meta.feed_horizon.epoch`, random per database). A token that
was altered, truncated, or made by another database fails the check: InvalidParameter
(400), never a wrong position."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from dataclasses import dataclass

from gisdb.errors import InvalidParameter

VERSION = 1
_BODY = struct.Struct(">BQQ")
_MAC_BYTES = 8
MAX_TOKEN_CHARS = 64
LAST_OF_COMMIT = 2 ** 63 - 1     # change id that closes a commit (a position at its end)


@dataclass(frozen=True, order=True)
class Position:
    """Everything up to (commit_seq, change_id), in commit order, was handed out."""

    commit_seq: int = 0
    change_id: int = 0


START = Position(0, 0)


def _mac(body: bytes, epoch: uuid.UUID) -> bytes:
    return hashlib.blake2b(body, key=epoch.bytes, digest_size=_MAC_BYTES).digest()


def encode(position: Position, epoch: uuid.UUID) -> str:
    """The token of `position` for the database whose feed epoch is `epoch`."""
    body = _BODY.pack(VERSION, position.commit_seq, position.change_id)
    return base64.urlsafe_b64encode(body + _mac(body, epoch)).rstrip(b"=").decode("ascii")


def decode(token: str, epoch: uuid.UUID) -> Position:
    """The position a token names; InvalidParameter for anything that is not a token
    of this database's feed."""
    bad = InvalidParameter("since: not a change-feed token of this server "
                           "(use a `next` value as given, `now`, or omit it)")
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise bad
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) != _BODY.size + _MAC_BYTES:
        raise bad
    body, mac = raw[:_BODY.size], raw[_BODY.size:]
    if not hmac.compare_digest(mac, _mac(body, epoch)):
        raise bad
    version, commit_seq, change_id = _BODY.unpack(body)
    if version != VERSION or commit_seq >= 2 ** 63 or change_id >= 2 ** 63:
        raise bad
    return Position(commit_seq, change_id)
