"""E-mail notifications over SMTP (stdlib ``smtplib``).

SMTP has no idempotent submission: a server that took the message and then lost the
connection before its "250" reached us makes us send again. What we can do is make every
copy the same message: the Message-ID is derived from the outbox row's idempotency key
(RFC 5322 section 3.6.4 lets a receiver treat equal Message-IDs as one message, and
mailbox tools and most clients collapse them), and the ``Idempotency-Key`` header carries
the key itself for mail rules. docs/notifications.md says what this does and does not
guarantee.

Reply codes follow RFC 5321 section 4.2.1: 5yz is permanent (this message will never be
accepted: the outbox gives it up), 4yz and lost connections are transient (retried).
Authentication failures are retried too: they are fixed by the operator, not by the
message, and the back-off leaves time to do it.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from agi.booking.store import OutboxItem
from agi.config import EmailTarget, NotifyTarget, Tenant
from agi.errors import DeliveryError
from agi.notify.render import calendar_bytes, subject, summary

log = logging.getLogger(__name__)

# One SMTP conversation may not block the worker longer than this per network operation.
SMTP_TIMEOUT_S = 15.0


def message_id(idempotency_key: str, sender: str) -> str:
    """``<hash@domain-of-sender>``: the same for every attempt of one outbox row."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]  # 128 bits
    domain = sender.rsplit("@", 1)[-1]
    return f"<permanence.{digest}@{domain}>"


def build_message(item: OutboxItem, target: EmailTarget, tenant: Tenant) -> EmailMessage:
    """The whole e-mail; identical bytes for every attempt of ``item``."""
    msg = EmailMessage()
    msg["Subject"] = subject(item, tenant)
    msg["From"] = target.sender
    msg["To"] = ", ".join(target.to)
    msg["Date"] = format_datetime(item.created_at)
    msg["Message-ID"] = message_id(item.idempotency_key, target.sender)
    msg["Idempotency-Key"] = item.idempotency_key
    msg["Content-Language"] = tenant.language
    msg.set_content(summary(item, tenant))
    if item.kind.startswith("appointment_"):
        method = "CANCEL" if item.kind == "appointment_cancelled" else "PUBLISH"
        msg.add_attachment(calendar_bytes(item, tenant, method=method), maintype="text",
                           subtype="calendar", filename="appointment.ics",
                           params={"method": method})
    return msg


class EmailSender:
    """Send one outbox item to an :class:`EmailTarget` (one SMTP connection per item)."""

    kind = "email"

    def __init__(self, *, timeout: float = SMTP_TIMEOUT_S,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._tls = tls_context

    def send(self, item: OutboxItem, target: NotifyTarget, tenant: Tenant) -> None:
        if not isinstance(target, EmailTarget):
            raise TypeError(f"EmailSender cannot send to {target.key}")
        msg = build_message(item, target, tenant)
        where = f"SMTP {target.smtp_host}:{target.smtp_port}"
        try:
            with smtplib.SMTP(target.smtp_host, target.smtp_port, timeout=self._timeout) as smtp:
                if target.smtp_starttls:
                    smtp.starttls(context=self._tls or ssl.create_default_context())
                if target.smtp_user:
                    smtp.login(target.smtp_user, target.smtp_password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where} refused the login ({exc.smtp_code}): check smtp_user "
                                "and the password") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise DeliveryError(f"{where} refused every recipient ({codes})",
                                permanent=all(c >= 500 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{where} answered {exc.smtp_code}",
                                permanent=exc.smtp_code >= 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"{where} does not offer STARTTLS: set smtp_starttls = false only "
                                "for a relay on this host", permanent=False) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timeout, TLS
            raise DeliveryError(f"{where} unreachable: {type(exc).__name__}: {exc}") from exc
        if refused:
            # Some recipients took it, so it counts as delivered: resending would duplicate it
            # for them. The refused ones are the business's own addresses, to be fixed.
            log.warning("%s refused %d of %d recipients of outbox item %d (tenant %s)", where,
                        len(refused), len(target.to), item.id, tenant.id)
