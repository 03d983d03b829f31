"""Password authentication: SCRAM-SHA-256 (RFC 5802 / RFC 7677, as PostgreSQL does it) and md5.

The server holds one password for every user name. SCRAM never sends the password or anything a
listener could replay; md5 is offered for old clients only. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
MECHANISM = "SCRAM-SHA-256"


class AuthFailed(Exception):
    """The client's proof or password is wrong, or its SASL messages are malformed."""


def _normalize(password: str) -> bytes:
    """SASLprep, approximated by NFKC: exact for ASCII passwords, what clients send most."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


@dataclass(frozen=True)
class ScramSecret:
    """What the server keeps of a password: salt, iteration count and the two derived keys."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def from_password(
        cls, password: str, iterations: int = ITERATIONS, salt: bytes | None = None
    ) -> ScramSecret:
        salt = salt if salt is not None else secrets.token_bytes(16)
        salted = hashlib.pbkdf2_hmac("sha256", _normalize(password), salt, iterations)
        client_key = _hmac(salted, b"Client Key")
        return cls(
            salt, iterations, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key")
        )


def _attributes(message: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise AuthFailed(f"malformed SCRAM attribute {part[:20]!r}")
        pairs.setdefault(part[0], part[2:])
    return pairs


class ScramExchange:
    """The server side of one SCRAM-SHA-256 exchange: first message in, final message in."""

    def __init__(self, secret: ScramSecret, server_nonce: str | None = None) -> None:
        self.secret = secret
        self.server_nonce = server_nonce or base64.b64encode(secrets.token_bytes(18)).decode()
        self.client_first_bare = ""
        self.server_first = ""
        self.nonce = ""
        self.gs2_header = ""

    def server_first_message(self, client_first: str) -> str:
        # gs2-header: "n,," (no channel binding) or "y,," (client could, thinks we can't).
        flag, _, rest = client_first.partition(",")
        if flag not in ("n", "y"):
            raise AuthFailed(
                "channel binding is not supported; connect with channel_binding=disable"
            )
        authzid, _, bare = rest.partition(",")
        if authzid:
            raise AuthFailed("SCRAM authorization identities are not supported")
        self.gs2_header = f"{flag},{authzid},"
        attributes = _attributes(bare)
        client_nonce = attributes.get("r", "")
        if not client_nonce or "m" in attributes:
            raise AuthFailed("malformed SCRAM client-first-message")
        self.client_first_bare = bare
        self.nonce = client_nonce + self.server_nonce
        salt = base64.b64encode(self.secret.salt).decode()
        self.server_first = f"r={self.nonce},s={salt},i={self.secret.iterations}"
        return self.server_first

    def server_final_message(self, client_final: str) -> str:
        without_proof, _, proof_part = client_final.rpartition(",p=")
        if not without_proof:
            raise AuthFailed("SCRAM client-final-message has no proof")
        attributes = _attributes(without_proof)
        binding = base64.b64encode(self.gs2_header.encode()).decode()
        if attributes.get("c") != binding or attributes.get("r") != self.nonce:
            raise AuthFailed("SCRAM channel binding or nonce mismatch")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise AuthFailed("SCRAM proof is not base64") from None
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        signature = _hmac(self.secret.stored_key, auth_message)
        if len(proof) != len(signature):
            raise AuthFailed("SCRAM proof has the wrong length")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.secret.stored_key):
            raise AuthFailed("wrong password")
        server_signature = _hmac(self.secret.server_key, auth_message)
        return "v=" + base64.b64encode(server_signature).decode()


def md5_expected(password: str, user: str, salt: bytes) -> str:
    """What a client sends for md5: ``"md5" + md5(md5(password + user) + salt)`` in hex."""
    inner = hashlib.md5((password + user).encode("utf-8")).hexdigest()  # noqa: S324 - protocol
    return "md5" + hashlib.md5(inner.encode() + salt).hexdigest()  # noqa: S324


def md5_ok(password: str, user: str, salt: bytes, answer: str) -> bool:
    return hmac.compare_digest(md5_expected(password, user, salt).encode(), answer.encode())
