"""``sqlml serve``: parse the command line, build a ServerConfig, run the server until stopped."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import sqlml
from sqlml.server.server import Server, ServerConfig


class UsageError(Exception):
    """A bad flag value or an unreadable file named on the command line (exit code 1)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sqlml serve",
        description="Serve a DuckDB database over the PostgreSQL wire protocol, with sqlml's ML "
        "statements, so psql and any PostgreSQL driver can connect.",
        epilog="Example: sqlml serve -d shop.db, then psql -h 127.0.0.1 -p 5433 -U me shop",
    )
    parser.add_argument(
        "-d", "--database", default=":memory:", help="DuckDB database file (default: :memory:)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=5433, help="TCP port (default: 5433; 0 picks a free one)"
    )
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-file", metavar="FILE", help="require this password (first line of FILE)"
    )
    secret.add_argument(
        "--password-env", metavar="VAR", help="require the password in environment variable VAR"
    )
    parser.add_argument(
        "--auth",
        choices=("scram", "md5"),
        default="scram",
        help="password method when a password is set (default: scram, i.e. SCRAM-SHA-256)",
    )
    parser.add_argument(
        "--tls-cert", metavar="C", help="TLS certificate (PEM); TLS becomes required"
    )
    parser.add_argument("--tls-key", metavar="K", help="TLS private key (PEM)")
    parser.add_argument("--read-only", action="store_true", help="open the database read-only")
    return parser


def read_password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        try:
            with open(args.password_file, encoding="utf-8") as handle:
                password = handle.readline().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(
                f"Cannot read the password file {args.password_file}: {exc.strerror or exc}"
            ) from None
        if not password:
            raise UsageError(f"The password file {args.password_file} is empty.")
        return password
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            raise UsageError(f"The environment variable {args.password_env} is unset or empty.")
        return password
    return None


def config_from(args: argparse.Namespace) -> ServerConfig:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("TLS needs both --tls-cert and --tls-key.")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535; got {args.port}.")
    return ServerConfig(
        database=args.database,
        host=args.host,
        port=args.port,
        password=read_password(args),
        auth_method=args.auth,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        read_only=args.read_only,
    )


def main(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    debug = os.environ.get("SQLML_DEBUG", "") not in ("", "0")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        Server(config_from(args)).serve_forever()
    except KeyboardInterrupt:
        return 0
    except (UsageError, sqlml.Error) as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return 1
    except OSError as exc:  # the port is taken, or the address is not ours
        sys.stderr.write(
            f"Error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}\n"
        )
        return 1
    return 0
