"""Email over SMTP: STARTTLS, implicit TLS, or plain (loopback relays and tests).

Each notification is one ``multipart/alternative`` message: a plain-text part
and an HTML part, both with the explanation and the sample lines. The
``Message-ID`` is derived from the idempotency key, so a re-sent notification
is recognisably the same message (``X-LogMonitor-Key`` carries the key too).

SMTP replies 4xx and lost connections are retried; 5xx replies (a refused
login, a rejected recipient) are permanent. The password is never shown.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from ..errors import ConfigError
from .notification import (
    DeliveryError,
    Notification,
    redact,
    render_html,
    render_text,
    render_title,
)

__all__ = ["SECURITY", "EmailSink", "Security"]

Security = Literal["starttls", "tls", "none"]
SECURITY: tuple[Security, ...] = ("starttls", "tls", "none")


class EmailSink:
    """Sends each notification as an email to ``recipients``.

    ``ssl_context`` defaults to the system's trusted CAs with hostname checks;
    pass your own to trust a private CA. ``password`` comes from the caller (the
    factory reads it from the environment); it is kept only to log in.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        sender: str,
        recipients: Sequence[str],
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        name: str = "email",
        timeout: float = 30.0,
        subject_prefix: str = "[LogMonitor] ",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in SECURITY:
            raise ConfigError(
                f"email {name!r}: security must be one of {', '.join(SECURITY)}, "
                f"not {security!r}; fix 'security'"
            )
        if not host:
            raise ConfigError(f"email {name!r}: host is empty; fix 'host'")
        if not recipients:
            raise ConfigError(f"email {name!r}: no recipients; fix 'to'")
        if not sender:
            raise ConfigError(f"email {name!r}: no sender address; fix 'from'")
        if (username is None) != (password is None):
            raise ConfigError(
                f"email {name!r}: username and password go together; set both or neither"
            )
        if not timeout > 0:
            raise ConfigError(f"email {name!r}: timeout must be > 0, not {timeout!r}")
        self.name = name
        self.host = host
        self.port = port or {"starttls": 587, "tls": 465, "none": 25}[security]
        self.sender = sender
        self.recipients = tuple(recipients)
        self.security: Security = security
        self.username = username
        self.timeout = timeout
        self.subject_prefix = subject_prefix
        self._password = password
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        login = f", username={self.username!r}, password=<hidden>" if self.username else ""
        return (
            f"EmailSink(name={self.name!r}, host={self.host!r}, port={self.port}, "
            f"security={self.security!r}, recipients={list(self.recipients)!r}{login})"
        )

    def message(self, notification: Notification) -> EmailMessage:
        """The email for ``notification``: text and HTML alternatives."""
        message = EmailMessage()
        message["Subject"] = self.subject_prefix + render_title(notification)
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(notification.created, usegmt=True)
        message["Message-ID"] = f"<{notification.key}@logmonitor>"
        message["X-LogMonitor-Key"] = notification.key
        message["X-LogMonitor-Kind"] = notification.kind
        message.set_content(render_text(notification))
        message.add_alternative(render_html(notification), subtype="html")
        return message

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _secrets(self) -> list[str]:
        if not self._password:
            return []
        plain = f"\0{self.username}\0{self._password}".encode()
        return [
            self._password,
            base64.b64encode(plain).decode(),
            base64.b64encode(self._password.encode()).decode(),
        ]

    def deliver(self, notification: Notification) -> None:
        message = self.message(notification)
        where = f"email {self.name!r} ({self.host}:{self.port})"
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryError(
                f"{where}: recipients refused {sorted(exc.recipients)} (codes {codes}); fix 'to'",
                retryable=all(400 <= code < 500 for code in codes),
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where}: login as {self.username!r} refused ({exc.smtp_code}); "
                "fix 'username' or the password variable",
                retryable=False,
            ) from None
        except smtplib.SMTPResponseException as exc:
            detail = redact(_text(exc.smtp_error), self._secrets())
            raise DeliveryError(
                f"{where}: server answered {exc.smtp_code} {detail!r}",
                retryable=400 <= exc.smtp_code < 500,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"{where}: TLS certificate not trusted ({exc.verify_message}); "
                "fix the server's certificate or 'security'",
                retryable=False,
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError(
                f"{where}: the server does not support STARTTLS or login; fix 'security'",
                retryable=False,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            detail = redact(str(exc), self._secrets())
            raise DeliveryError(f"{where}: {type(exc).__name__}: {detail}") from None

    def _send(self, message: EmailMessage) -> None:
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password)
            smtp.send_message(message, self.sender, list(self.recipients))

    def close(self) -> None:
        """One connection per notification: nothing is kept open."""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
