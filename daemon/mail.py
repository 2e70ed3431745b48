"""A report as a mail: one MIME message (text and HTML alternatives) handed to the local
sendmail, so a cron line is one command. No SMTP here: the machine's mail transfer agent
(or msmtp, ...) owns queues, retries and credentials."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .report import Report, render_html, render_text, title

FALLBACK_SENDMAIL = "/usr/sbin/sendmail"     # where the MTAs put it, off cron's PATH too


class MailError(Exception):
    """The mail could not be handed over; the message names the problem and the fix."""


def address_problem(value: str) -> str | None:
    """What is wrong with a mail address (name@example.com), None when it is fine."""
    from email.headerregistry import Address

    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)
    wanted = f"'{shown}' is not a mail address: give one as name@example.com"
    if not value or any(c.isspace() or c in ",;<>" for c in value) or "@" not in value:
        return wanted
    try:
        address = Address(addr_spec=value)
    except Exception:      # the parser raises several kinds, all meaning "not an address"
        return wanted
    if not address.username or "." not in address.domain.strip("."):
        return wanted
    return None


def default_sender() -> str:
    import getpass
    import socket

    return f"{getpass.getuser()}@{socket.gethostname()}"


def message(report: Report, to: list[str], sender: str) -> EmailMessage:
    """The report as multipart/alternative: the text report, then the HTML page."""
    mail = EmailMessage()
    mail["Subject"] = title(report)
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"     # RFC 3834: no vacation replies to cron
    mail.set_content(render_text(report))
    mail.add_alternative(render_html(report), subtype="html")
    return mail


def sendmail_command(setting: str) -> list[str]:
    """The sendmail to run: the setting (a command, with arguments if any), else
    `sendmail` on PATH, else /usr/sbin/sendmail. MailError when there is none."""
    if setting:
        command = shlex.split(setting)
        found = shutil.which(command[0])
        if found is None:
            raise MailError(f"report.sendmail is '{setting}', which is not a program here: "
                            "fix it with `cc config set report.sendmail PATH`")
        return [found, *command[1:]]
    found = shutil.which("sendmail")
    if found is None and os.access(FALLBACK_SENDMAIL, os.X_OK):
        found = FALLBACK_SENDMAIL
    if found is None:
        raise MailError("no sendmail here (none on PATH, nor /usr/sbin/sendmail): install a "
                        "mail transfer agent (e.g. postfix, or msmtp-mta) or name one with "
                        "`cc config set report.sendmail PATH`")
    return [found]


def send(mail: EmailMessage, command: list[str], timeout: float = 120) -> None:
    """Hand the message to sendmail (recipients from its To header, a lone dot is text)."""
    try:
        done = subprocess.run([*command, "-t", "-oi"], input=mail.as_bytes(),
                              capture_output=True, timeout=timeout)
    except OSError as exc:
        raise MailError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise MailError(f"{command[0]} took longer than {timeout:.0f} s and was stopped; "
                        "the mail may not have gone") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = f": {said[-1].strip()}" if said else ""
        raise MailError(f"{command[0]} failed with exit code {done.returncode}{reason} "
                        "(its log, e.g. journalctl -u postfix, says more)")
