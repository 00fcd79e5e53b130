"""A private key as a person gives it: the PEM itself, the PEM in base64, or a file's path.

One reading for every entry point that takes a key by name (the queue recipe's
workers; the CLI's ``--private-key`` reads the same three forms). The value is
never echoed: a key pasted where a path was expected must not reach a log.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import stat

from .errors import InvalidRequestError

#: A P-521 PEM is about 400 bytes; anything this big is not a key.
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
        return _read_file(value)
    except OSError as exc:
        reason = exc.strerror or "unreadable"
        raise InvalidRequestError(
            f"{source}: not a PEM key, a base64 PEM or a readable file ({reason})"
        ) from None
    except UnicodeDecodeError:
        raise InvalidRequestError(f"{source}: the file is not a PEM key (not text)") from None


def _read_file(path: str) -> str:
    # O_NONBLOCK: opening a FIFO with no writer would wait forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        data = stream.read(MAX_KEY_FILE + 1)
    if len(data) > MAX_KEY_FILE:
        raise OSError(0, f"larger than {MAX_KEY_FILE // 1024} KiB")
    return data.decode()
