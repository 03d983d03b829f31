"""A client's start-up: TLS negotiation, the startup packet, its settings, and authentication."""

from __future__ import annotations

import logging
import re
import secrets

from sqlml.server import auth, pgcompat, protocol
from sqlml.server.errors import ServerError
from sqlml.server.protocol import Buffer, ProtocolViolation

log = logging.getLogger("sqlml.server")


class Fatal(Exception):
    """End this connection after sending a FATAL ErrorResponse."""

    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


class Startup:
    """Start-up and authentication, mixed into :class:`~sqlml.server.client.loop.ClientSession`."""

    async def startup(self) -> bool:
        """SSL negotiation, the startup packet and authentication; False for a cancel request."""
        tls = False
        timeout = self.config.startup_timeout
        while True:
            code, payload = await protocol.read_startup(self.reader, timeout)
            if code == protocol.SSL_REQUEST and not tls:
                tls = await self._start_tls()
            elif code == protocol.GSSENC_REQUEST:
                self.writer.write(b"N")
            elif code == protocol.CANCEL_REQUEST:
                buf = Buffer(payload)
                self.server.cancel(buf.int32(), buf.int32())
                return False
            else:
                break
        if code >> 16 != 3:
            raise Fatal("0A000", f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
        if self.server.ssl_context is not None and not tls:
            raise Fatal("28000", "this server accepts TLS connections only; use sslmode=require")
        params = protocol.parse_startup(payload)
        extensions = sorted(k for k in params if k.startswith("_pq_."))
        if code & 0xFFFF or extensions:
            self.out += protocol.negotiate_protocol(0, extensions)
        self.user = params.get("user", "")
        if not self.user:
            raise Fatal("28000", "no user name specified in the startup packet")
        await self.authenticate()
        self.settings = pgcompat.Settings.create(
            self.user, self.server.timezone, self.config.read_only, self.config.lock_timeout
        )
        self._apply_startup(params)
        log.info(
            "session %d: %s connected from %s%s",
            self.id,
            self.user,
            self.peer,
            " over TLS" if tls else "",
        )
        self.out += protocol.AUTH_OK
        for name in pgcompat.REPORTED:
            self.out += protocol.parameter_status(name, self.settings.values[name])
        self.out += protocol.backend_key(self.id, self.secret)
        self.out += protocol.ready("I")
        await self.flush()
        return True

    async def _start_tls(self) -> bool:
        context = self.server.ssl_context
        if context is None:
            self.writer.write(b"N")
            return False
        if self.reader._buffer:  # type: ignore[attr-defined]  # noqa: SLF001
            raise ProtocolViolation("data received before the TLS handshake")
        self.writer.write(b"S")
        await self.writer.drain()
        await self.writer.start_tls(context)
        return True

    def _apply_startup(self, params: dict[str, str]) -> None:
        options = params.get("options", "")
        for match in re.finditer(r"(?:-c\s*|--)([\w.]+)=((?:\\.|\S)+)", options):
            params.setdefault(match.group(1), match.group(2).replace("\\ ", " "))
        for name, value in params.items():
            if name in ("user", "database", "options", "replication") or name.startswith("_pq_."):
                continue
            key = self.settings.canonical(name) or name
            try:
                self.settings.set(key, value)
            except ServerError as exc:
                raise Fatal(exc.sqlstate, str(exc)) from None
        self.settings.defaults = dict(self.settings.values)

    async def authenticate(self) -> None:
        secret = self.server.password
        if secret is None:
            return
        try:
            if self.config.auth_method == "md5":
                await self._md5(secret)
            else:
                await self._scram()
        except auth.AuthFailed as exc:
            log.warning("session %d: authentication failed for %r: %s", self.id, self.user, exc)
            raise Fatal("28P01", f'password authentication failed for user "{self.user}"') from None

    async def _password_message(self) -> bytes:
        kind, body = await protocol.read_message(
            self.reader, 64 * 1024, self.config.startup_timeout, self.config.startup_timeout
        )
        if kind != b"p":
            raise ProtocolViolation(f"expected a password message, got {kind!r}")
        return body

    async def _md5(self, password: str) -> None:
        salt = secrets.token_bytes(4)
        self.out += protocol.auth(5, salt)
        await self.flush()
        answer = Buffer(await self._password_message()).cstring()
        if not auth.md5_ok(password, self.user, salt, answer):
            raise auth.AuthFailed("wrong password")

    async def _scram(self) -> None:
        self.out += protocol.auth(10, protocol.cstr(auth.MECHANISM) + b"\0")
        await self.flush()
        buf = Buffer(await self._password_message())
        mechanism = buf.cstring()
        if mechanism != auth.MECHANISM:
            raise auth.AuthFailed(f"unsupported SASL mechanism {mechanism!r}")
        length = buf.int32()
        first = buf.bytes(length).decode("utf-8", "replace") if length >= 0 else ""
        exchange = auth.ScramExchange(self.server.scram)
        self.out += protocol.auth(11, exchange.server_first_message(first).encode())
        await self.flush()
        final = (await self._password_message()).decode("utf-8", "replace")
        self.out += protocol.auth(12, exchange.server_final_message(final).encode())
