"""`cc report --mail TO`: the report as one MIME message (text and HTML alternatives)
handed to the local sendmail. A fake `sendmail` on PATH records its arguments and the
message it was given; the message is parsed back with the email package."""

from __future__ import annotations

import email
import email.policy
import getpass
import os
import socket
import stat
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from conftest import CC
from daemon import mail
from test_report import PERIOD, SCRIPT_AGENT, make_log, mail_safe

FAKE_SENDMAIL = """#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_MAIL_DIR/args"
cat > "$FAKE_MAIL_DIR/message"
if [ -n "$FAKE_MAIL_FAIL" ]; then echo "sendmail: $FAKE_MAIL_FAIL" >&2; exit 75; fi
"""


@pytest.fixture
def home(tmp_path) -> Path:
    """A profile whose call log holds test_report's calls; no daemon."""
    make_log(tmp_path / "home" / "data" / "calls.db")
    return tmp_path / "home"


@pytest.fixture
def outbox(tmp_path) -> Path:
    """A folder with a fake sendmail (in outbox/bin) that writes args and message here."""
    folder = tmp_path / "outbox"
    (folder / "bin").mkdir(parents=True)
    script = folder / "bin" / "sendmail"
    script.write_text(FAKE_SENDMAIL)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def cc(home: Path, outbox: Path, *args, **env) -> subprocess.CompletedProcess:
    """`cc ARGS` as cron runs it, with the fake sendmail first on PATH."""
    full = {**os.environ, "CC_HOME": str(home), "FAKE_MAIL_DIR": str(outbox),
            "PATH": f"{outbox / 'bin'}{os.pathsep}{os.environ['PATH']}", **env}
    full.pop("XDG_RUNTIME_DIR", None)
    return subprocess.run([CC, *args], env=full, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def sent(outbox: Path) -> email.message.EmailMessage:
    return email.message_from_bytes((outbox / "message").read_bytes(),
                                    policy=email.policy.default)


def without_generated(text: str) -> str:
    """The report without its "generated HH:MM" line, which two runs may not share."""
    return "\n".join(line for line in text.splitlines() if "enerated " not in line)


def test_mail_hands_one_mime_message_with_text_and_html_to_sendmail(home, outbox):
    assert cc(home, outbox, "config", "set", "report.mail_from",
              "reports@example.com").returncode == 0
    done = cc(home, outbox, "report", "--period", PERIOD, "--mail", "lead@example.com",
              "--mail", "boss@example.org")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""        # silent in cron
    assert (outbox / "args").read_text().split() == ["-t", "-oi"]
    message = sent(outbox)
    assert message["Subject"] == "Call report: 2026-11-02 to 2026-11-04, all agents"
    assert message["From"] == "reports@example.com"
    assert [a.addr_spec for a in message["To"].addresses] == ["lead@example.com",
                                                              "boss@example.org"]
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<") and "@example.com>" in message["Message-ID"]
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    text, page = message.get_payload()
    assert (text.get_content_type(), page.get_content_type()) == ("text/plain", "text/html")
    assert text.get_content_charset() == page.get_content_charset() == "utf-8"
    printed = cc(home, outbox, "report", "--period", PERIOD)
    assert without_generated(text.get_content()) == without_generated(printed.stdout)
    html_page = cc(home, outbox, "report", "--period", PERIOD, "--format", "html")
    assert without_generated(page.get_content()) == without_generated(html_page.stdout)
    mail_safe(page.get_content())
    raw = (outbox / "message").read_bytes()
    assert max(map(len, raw.splitlines())) <= 998        # what SMTP carries


def test_the_sender_is_you_at_this_machine_unless_set(home, outbox):
    done = cc(home, outbox, "report", "--period", PERIOD, "--agent", "petrenko",
              "--mail", "lead@example.com")
    assert done.returncode == 0, done.stderr
    message = sent(outbox)
    assert message["From"] == f"{getpass.getuser()}@{socket.gethostname()}"
    assert message["Subject"] == "Call report: 2026-11-02 to 2026-11-04, agent petrenko"


@pytest.mark.parametrize("address", ["lead", "lead@", "lead@example", "a b@example.com",
                                     "lead@example.com\nBcc: all@example.com",
                                     "lead@example.com, boss@example.com",
                                     "Lead <lead@example.com>"])
def test_a_wrong_address_is_one_line_and_nothing_is_sent(home, outbox, address):
    done = cc(home, outbox, "report", "--period", PERIOD, "--mail", address)
    assert done.returncode == 9
    assert done.stderr.count("\n") == 1 and "is not a mail address" in done.stderr
    assert "name@example.com" in done.stderr
    assert not (outbox / "message").exists()


def test_a_failing_sendmail_exits_1_with_its_reason(home, outbox):
    done = cc(home, outbox, "report", "--period", PERIOD, "--mail", "lead@example.com",
              FAKE_MAIL_FAIL="queue directory full")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "failed with exit code 75: sendmail: queue directory full" in done.stderr


def test_report_sendmail_names_the_program_and_its_arguments(home, outbox):
    other = outbox / "bin" / "mymta"
    (outbox / "bin" / "sendmail").rename(other)
    assert cc(home, outbox, "config", "set", "report.sendmail",
              f"{other} -a work").returncode == 0
    done = cc(home, outbox, "report", "--period", PERIOD, "--mail", "lead@example.com")
    assert done.returncode == 0, done.stderr
    assert (outbox / "args").read_text().split() == ["-a", "work", "-t", "-oi"]


def test_a_sendmail_that_is_not_there_is_one_line(home, outbox):
    assert cc(home, outbox, "config", "set", "report.sendmail",
              "no-such-mta").returncode == 0
    done = cc(home, outbox, "report", "--period", PERIOD, "--mail", "lead@example.com")
    assert done.returncode == 8 and done.stderr.count("\n") == 1
    assert "report.sendmail is 'no-such-mta', which is not a program here" in done.stderr


def test_no_sendmail_anywhere_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(mail, "FALLBACK_SENDMAIL", str(tmp_path / "sendmail"))
    with pytest.raises(mail.MailError, match="no sendmail here .* install a mail transfer"):
        mail.sendmail_command("")


def test_mail_takes_no_format_output_or_json(home, outbox, tmp_path):
    for extra in (["--format", "csv"], ["--output", str(tmp_path / "r.txt")], ["--json"]):
        done = cc(home, outbox, "report", "--mail", "lead@example.com", *extra)
        assert done.returncode == 9 and done.stderr.count("\n") == 1
        assert f"leave out {extra[0]}" in done.stderr
    assert not (outbox / "message").exists()


def test_a_wrong_from_address_is_refused_by_config_set(home, outbox):
    done = cc(home, outbox, "config", "set", "report.mail_from", "reports")
    assert done.returncode != 0 and done.stderr.count("\n") == 1
    assert "report.mail_from" in done.stderr and "name@example.com" in done.stderr


def test_names_in_the_mail_are_escaped_in_html_and_plain_in_text(home, outbox):
    assert cc(home, outbox, "report", "--period", PERIOD, "--mail",
              "lead@example.com").returncode == 0
    text, page = sent(outbox).get_payload()
    assert SCRIPT_AGENT in text.get_content()
    assert "<script>" not in page.get_content()
