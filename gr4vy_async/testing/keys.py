"""A throwaway EC P-521 key pair, for a FakeGr4vy that checks token signatures."""

from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["KeyPair"]


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """PEM texts of a P-521 private key and its public key (the private one never in a repr).

    Give ``public_key`` to ``FakeGr4vy(public_key=...)`` and sign the client's
    tokens with ``private_key`` (``auth.with_token(pair.private_key)``).
    """

    private_key: str = dataclasses.field(repr=False)
    public_key: str

    @classmethod
    def generate(cls) -> KeyPair:
        """A new random key pair."""
        private = ec.generate_private_key(ec.SECP521R1())
        return cls(
            private_key=private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode(),
            public_key=private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
        )

    def matches(self, public_key_pem: str | bytes) -> bool:
        """Whether ``public_key_pem`` is this pair's public key (any PEM formatting)."""
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        try:
            other = serialization.load_pem_public_key(pem)
        except ValueError:
            return False
        mine = serialization.load_pem_public_key(self.public_key.encode())
        assert isinstance(mine, ec.EllipticCurvePublicKey)
        return (
            isinstance(other, ec.EllipticCurvePublicKey)
            and other.public_numbers() == mine.public_numbers()
        )
