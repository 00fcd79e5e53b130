"""A private key as a person gives it: the PEM itself, the PEM in base64, or a file's path.

The one reading for every entry point that takes a key by name: the CLI's
``--private-key`` (and ``GR4VY_PRIVATE_KEY``/``GR4VY_PRIVATE_KEY_FILE``) and
the queue recipe's workers. The value is never echoed: a key pasted where a
path was expected must not reach a log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib

from ._files import NotRegularFile, open_regular, read_at_most
from .errors import InvalidRequestError

__all__ = ["MAX_KEY_FILE", "read_pem"]

#: A P-521 PEM is about 400 bytes (a certificate chain a few KiB): anything bigger is no key.
MAX_KEY_FILE = 64 * 1024


def read_pem(value: str, source: str) -> str:
    """PEM text from ``value``: the PEM, the PEM in base64, or the path of a file holding it.

    ``source`` names where the value came from (``GR4VY_PRIVATE_KEY``, a flag)
    in the InvalidRequestError raised when it is none of those; the value is
    never in it. A file must be a regular file of at most :data:`MAX_KEY_FILE`
    bytes (a FIFO or a device is refused, not waited on or read forever).
    """
    if "-----BEGIN" in value:
        return value
    with contextlib.suppress(binascii.Error, ValueError):
        decoded = base64.b64decode("".join(value.split()), validate=True).decode()
        if "-----BEGIN" in decoded:
            return decoded
    try:
        data = read_at_most(open_regular(value), MAX_KEY_FILE)
    except NotRegularFile:
        raise InvalidRequestError(f"{source}: not a regular file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the value
        why = getattr(exc, "strerror", None) or "not a path"
        raise InvalidRequestError(
            f"{source}: not a PEM key, a base64 PEM or a readable file ({why})"
        ) from None
    if data is None:
        raise InvalidRequestError(
            f"{source}: the key file is larger than {MAX_KEY_FILE // 1024} KiB"
        )
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{source}: the file is not a PEM key (not text)") from None
