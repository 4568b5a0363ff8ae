"""SMTP delivery: one connection per run (STARTTLS, implicit TLS or plain for a loopback relay),
an optional login, one message per recipient. Every socket operation is bounded by
``digest.smtp.timeout_seconds``.

Errors, so the caller can record them per recipient::

    PublishError
    ├── MailError          the connection or the session failed: nothing more can be sent on it
    └── RecipientRefused   the server refused this message (sender, recipient or data);
                           the connection stays usable for the next recipient

The password comes from the environment variable ``digest.smtp.password_env`` names, read when
the digest is sent; it is never stored in the config file or the database.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from feedbot.config import SmtpSettings
from feedbot.errors import ConfigError, PublishError


class MailError(PublishError):
    """The SMTP connection or session failed; what was not sent must be sent again."""


class RecipientRefused(PublishError):
    """The server refused one message (its recipient, its sender or its data)."""


@dataclass(frozen=True)
class MailServer:
    """What a connection needs, checked before anything is sent."""

    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    timeout: float
    tls: ssl.SSLContext | None
    local_hostname: str


def mail_server(
    smtp: SmtpSettings, base_dir: Path, local_hostname: str, environ: Mapping[str, str] = os.environ
) -> MailServer:
    """The server to send through, from ``[digest.smtp]`` and the environment. Raises
    :class:`ConfigError` naming the key when something needed is missing."""
    if not smtp.host:
        raise ConfigError("digest.smtp.host: required to send the digest (or use --dry-run)")
    password = None
    if smtp.username:
        password = environ.get(smtp.password_env)
        if not password:
            raise ConfigError(
                f"digest.smtp.username is set but the environment variable "
                f"{smtp.password_env} (digest.smtp.password_env) holding the password is empty"
            )
    tls = None
    if smtp.security != "none":
        cafile = None
        if smtp.ca_file:
            cafile = (base_dir / smtp.ca_file).resolve()
            if not cafile.is_file():
                raise ConfigError(f"digest.smtp.ca_file: no such file {cafile}")
        try:
            tls = ssl.create_default_context(cafile=str(cafile) if cafile else None)
        except ssl.SSLError as e:
            raise ConfigError(f"digest.smtp.ca_file: not a PEM certificate file ({e})") from e
    return MailServer(
        smtp.host,
        smtp.effective_port,
        smtp.security,
        smtp.username,
        password,
        smtp.timeout_seconds,
        tls,
        local_hostname,
    )


class MailSession:
    """One open, logged-in SMTP connection."""

    def __init__(self, client: smtplib.SMTP, server: MailServer) -> None:
        self._client = client
        self.server = server

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message to the server for one recipient. Returns once the server has
        accepted it (its 250 after the data)."""
        # smtplib ends lines with CRLF only for str messages; bytes go out as they are.
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        try:
            self._client.sendmail(sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as e:
            code, reply = next(iter(e.recipients.values()), (0, b""))
            raise RecipientRefused(f"recipient refused: {_reply(code, reply)}") from e
        except smtplib.SMTPSenderRefused as e:
            raise RecipientRefused(f"sender refused: {_reply(e.smtp_code, e.smtp_error)}") from e
        except smtplib.SMTPDataError as e:
            raise RecipientRefused(f"message refused: {_reply(e.smtp_code, e.smtp_error)}") from e
        except (smtplib.SMTPException, OSError) as e:
            raise MailError(f"{self._where()}: {describe(e)}") from e

    def close(self) -> None:
        try:
            self._client.quit()
        except (smtplib.SMTPException, OSError):
            self._client.close()

    def _where(self) -> str:
        return f"SMTP {self.server.host}:{self.server.port}"


def connect(server: MailServer) -> MailSession:
    """Open a session: connect (implicit TLS, or STARTTLS before anything else is said),
    then log in. Raises :class:`MailError`."""
    where = f"SMTP {server.host}:{server.port}"
    client: smtplib.SMTP | None = None
    try:
        if server.security == "tls":
            client = smtplib.SMTP_SSL(
                server.host,
                server.port,
                local_hostname=server.local_hostname,
                timeout=server.timeout,
                context=server.tls,
            )
        else:
            client = smtplib.SMTP(
                server.host,
                server.port,
                local_hostname=server.local_hostname,
                timeout=server.timeout,
            )
            if server.security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise MailError(f"{where}: the server does not offer STARTTLS")
                client.starttls(context=server.tls)
                client.ehlo()
        if server.username:
            client.login(server.username, server.password or "")
    except MailError:
        _close(client)
        raise
    except smtplib.SMTPAuthenticationError as e:
        _close(client)
        raise MailError(f"{where}: login refused: {_reply(e.smtp_code, e.smtp_error)}") from e
    except (smtplib.SMTPException, OSError) as e:  # ssl.SSLError is an OSError
        _close(client)
        raise MailError(f"{where}: {describe(e)}") from e
    return MailSession(client, server)


def describe(error: BaseException) -> str:
    """One line for an SMTP or socket failure."""
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error.smtp_code, error.smtp_error)
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message})"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(f"{code} {text}".split())


def _close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        with contextlib.suppress(OSError):
            client.close()
