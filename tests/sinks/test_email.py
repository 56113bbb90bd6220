"""Email over SMTP, delivered to a real aiosmtpd server on loopback."""

from __future__ import annotations

import email
import email.policy
import email.utils
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from logmonitor.errors import ConfigError
from logmonitor.sinks.email import EmailSink
from logmonitor.sinks.notification import DeliveryError, Notification

from .conftest import free_port, make_alert

PASSWORD = "correct horse battery staple"
USER = "alerts@example.com"


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps each message; ``reply`` scripts DATA answers."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    reply: list[str] = field(default_factory=list)
    refuse_rcpt: str | None = None
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse_rcpt and address == self.refuse_rcpt:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    mailbox: Mailbox
    port: int


def _serve(**options: Any) -> Iterator[Server]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        **options,
    )
    controller.start()
    yield Server(mailbox, port)
    controller.stop()


@pytest.fixture
def smtp() -> Iterator[Server]:
    """Plain SMTP with AUTH allowed without TLS (loopback only)."""
    yield from _serve(auth_require_tls=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need the openssl command: apt-get install openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def _client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def _sink(port: int, **options: Any) -> EmailSink:
    values: dict[str, Any] = {
        "sender": "LogMonitor <alerts@example.com>",
        "recipients": ["ops@example.com", "oncall@example.com"],
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "timeout": 10.0,
    }
    values.update(options)
    return EmailSink("127.0.0.1", port, **values)


def _parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    page = message.get_body(preferencelist=("html",))
    assert text is not None
    assert page is not None
    return str(text.get_content()), str(page.get_content())


def test_the_message_arrives_with_headers_and_both_parts(smtp: Server) -> None:
    note = Notification.firing([make_alert(), make_alert("/var/log/db.log", n=1)], 1_700_000_100.0)
    _sink(smtp.port).deliver(note)
    (sender, recipients, message) = smtp.mailbox.messages[0]
    assert smtp.mailbox.logins == [USER]
    assert sender == "alerts@example.com"
    assert recipients == ["ops@example.com", "oncall@example.com"]
    assert message["Subject"] == (
        "[LogMonitor] [FIRING:2] anomaly in app.log (score 0.910), seen 3 times and 1 more"
    )
    assert message["From"] == "LogMonitor <alerts@example.com>"
    assert message["To"] == "ops@example.com, oncall@example.com"
    assert message["Message-ID"] == f"<{note.key}@logmonitor>"
    assert message["X-LogMonitor-Key"] == note.key
    assert email.utils.parsedate_to_datetime(message["Date"]).timestamp() == 1_700_000_100.0
    assert message.get_content_type() == "multipart/alternative"
    text, page = _parts(message)
    for body in (text, page):
        assert "detectors: iforest, novelty" in body
        assert "observed 120, expected 2.5" in body
        assert "new templates: #9" in body
        assert "db.log:57" in body
    assert "app.log:42  ERROR Connection to db:5432 failed <timeout>" in text
    assert "app.log:42  ERROR Connection to db:5432 failed &lt;timeout&gt;" in page


def test_a_digest_uses_the_callers_html(smtp: Server) -> None:
    note = Notification.digest("Daily digest", "3 new patterns", 1.0, html="<p>3 <b>new</b></p>")
    _sink(smtp.port, username=None, password=None).deliver(note)
    (_, _, message) = smtp.mailbox.messages[0]
    assert message["Subject"] == "[LogMonitor] Daily digest"
    text, page = _parts(message)
    assert "3 new patterns" in text
    assert "<p>3 <b>new</b></p>" in page
    assert smtp.mailbox.logins == []


def test_a_refused_login_is_permanent_and_hides_the_password(smtp: Server) -> None:
    sink = _sink(smtp.port, password="wrong-" + PASSWORD)
    with pytest.raises(DeliveryError, match=r"login as 'alerts@example\.com' refused") as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    assert not caught.value.retryable
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(sink)
    assert "password=<hidden>" in repr(sink)
    assert smtp.mailbox.messages == []


def test_smtp_replies_decide_between_retry_and_give_up(smtp: Server) -> None:
    sink = _sink(smtp.port)
    note = Notification.firing([make_alert()], 1.0)
    smtp.mailbox.reply = ["451 4.3.0 try again later", "554 5.7.1 rejected as spam"]
    with pytest.raises(DeliveryError, match="451") as caught:
        sink.deliver(note)
    assert caught.value.retryable
    with pytest.raises(DeliveryError, match="554") as caught:
        sink.deliver(note)
    assert not caught.value.retryable
    smtp.mailbox.refuse_rcpt = "oncall@example.com"
    smtp.mailbox.messages.clear()
    sink.deliver(note)  # one recipient refused: the others still get it
    assert smtp.mailbox.messages[0][1] == ["ops@example.com"]
    smtp.mailbox.refuse_rcpt = None
    alone = _sink(smtp.port, recipients=["nobody@example.com"])
    smtp.mailbox.refuse_rcpt = "nobody@example.com"
    with pytest.raises(DeliveryError, match="recipients refused") as caught:
        alone.deliver(note)
    assert not caught.value.retryable


def test_an_unreachable_server_is_retried() -> None:
    sink = _sink(free_port())
    with pytest.raises(DeliveryError, match="ConnectionRefusedError") as caught:
        sink.deliver(Notification.firing([make_alert()], 1.0))
    assert caught.value.retryable
    assert PASSWORD not in str(caught.value)


def test_starttls_with_login(certificate: tuple[Path, Path]) -> None:
    for server in _serve(tls_context=_server_context(certificate), require_starttls=True):
        sink = _sink(server.port, security="starttls", ssl_context=_client_context(certificate))
        sink.deliver(Notification.firing([make_alert()], 1.0))
        assert server.mailbox.logins == [USER]
        assert len(server.mailbox.messages) == 1
        untrusted = _sink(server.port, security="starttls")  # system CAs only
        with pytest.raises(DeliveryError, match="TLS certificate not trusted") as caught:
            untrusted.deliver(Notification.firing([make_alert()], 1.0))
        assert not caught.value.retryable
        plain = _sink(server.port, security="none")  # the server insists on STARTTLS
        with pytest.raises(DeliveryError) as caught:
            plain.deliver(Notification.firing([make_alert()], 1.0))
        assert PASSWORD not in str(caught.value)
        assert len(server.mailbox.messages) == 1


def test_implicit_tls_with_login(certificate: tuple[Path, Path]) -> None:
    # aiosmtpd counts only STARTTLS as TLS when it guards AUTH, hence auth_require_tls.
    for server in _serve(ssl_context=_server_context(certificate), auth_require_tls=False):
        sink = _sink(server.port, security="tls", ssl_context=_client_context(certificate))
        sink.deliver(Notification.firing([make_alert()], 1.0))
        assert server.mailbox.logins == [USER]
        assert len(server.mailbox.messages) == 1


def test_bad_arguments_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="security must be one of starttls, tls, none"):
        EmailSink("h", sender="a@b", recipients=["c@d"], security="ssl")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no recipients; fix 'to'"):
        EmailSink("h", sender="a@b", recipients=[])
    with pytest.raises(ConfigError, match="username and password go together"):
        EmailSink("h", sender="a@b", recipients=["c@d"], username="u")
    assert EmailSink("h", sender="a@b", recipients=["c@d"], security="tls").port == 465
    assert EmailSink("h", sender="a@b", recipients=["c@d"]).port == 587
