"""Line and agent state (F17, F24, F25, F34, F35): what the line allows, wrap-up told
truthfully, breaks with a reason, hanging up to complete a consult transfer."""

from __future__ import annotations

import pytest

from conftest import wait_until
from test_transfer_e2e import CALLER, DIRECTORY

ANSWERS = "+380441110001"
OTHER = "+380441110004"


@pytest.fixture
def emulator(emulator_factory):
    return emulator_factory(manual_clock=True)


def agents(emulator, agent_factory, tmp_path, **settings):
    """Ivanova (with `settings`) and Petrenko, both logged in, both knowing the team."""
    ivanova = agent_factory(emulator, manual_clock=True, **settings).start()
    petrenko = agent_factory(emulator, login="petrenko", manual_clock=True).start()
    team = tmp_path / "team.csv"
    team.write_text(DIRECTORY)
    for agent in (ivanova, petrenko):
        agent.wait_logged_in()
        agent.cc("who", "import", str(team))
    return ivanova, petrenko


def consulting(emulator, ivanova, petrenko) -> tuple[dict, dict]:
    """A caller talking to Ivanova, on hold while she consults Petrenko, who answered:
    the caller's call and the consult leg, as Ivanova's daemon shows them."""
    emulator.admin("call-in", From=CALLER, To="101")
    ivanova.wait_call_state("Ringing")
    first = ivanova.json("answer")
    ivanova.cc("transfer", "Petro")
    petrenko.wait_call_state("Ringing")
    petrenko.cc("answer")
    calls = wait_until(lambda: (c := ivanova.json("calls")) and len(c) == 2
                       and c[1]["state_name"] == "Connected" and c, 10,
                       "the target to answer the consult")
    assert calls[0]["call_id"] == first["call_id"] and calls[0]["state_name"] == "On hold"
    return calls[0], calls[1]


def agent_state(agent) -> str:
    return agent.status()["agent_state"]["name"]


def in_wrapup(emulator, agent_factory, **settings):
    """An agent with wrap-up on (and `settings`) whose answered call has just ended: the
    agent and the call."""
    agent = agent_factory(emulator, manual_clock=True,
                          **{"wrapup.enabled": True, **settings}).start()
    agent.wait_logged_in()
    call = agent.dial_answered(ANSWERS, after=2)
    agent.cc("hangup")
    wait_until(lambda: agent.status().get("wrapup"), 10, "wrap-up to start")
    return agent, call


def test_dialling_while_a_call_is_connected_is_refused_until_it_is_held(manual):
    emulator, agent = manual
    first = agent.dial_answered(ANSWERS, after=2)
    done = agent.cc("dial", OTHER, check=False)
    assert done.returncode == 6
    assert done.stderr.count("\n") == 1 and "is Connected" in done.stderr
    assert "`cc hold`" in done.stderr and first["call_id"] in done.stderr
    assert [c["call_id"] for c in agent.json("calls")] == [first["call_id"]]
    done = agent.cc("redial", check=False)
    assert done.returncode == 6 and "is Connected" in done.stderr

    agent.cc("hold")
    second = agent.json("dial", OTHER)
    assert [c["call_id"] for c in agent.json("calls")] == [first["call_id"],
                                                            second["call_id"]]
    # The second call is on its way: a third waits until it is answered or hung up.
    done = agent.cc("dial", ANSWERS, check=False)
    assert done.returncode == 6 and "`cc hangup`" in done.stderr


def test_a_break_needs_a_regulated_reason_or_other_text(agent):
    for command in (("break",), ("state", "break")):
        done = agent.cc(*command, check=False)
        assert done.returncode == 9, command
        assert "a break needs a reason" in done.stderr and "--other TEXT" in done.stderr
        assert "lunch" in done.stderr
    wait_until(lambda: agent_state(agent) == "available", 10, "Available, as before")
    assert "Break (lunch)" in agent.cc("break", "lunch").stdout
    assert "Break (dentist)" in agent.cc("break", "--other", "dentist").stdout


def test_wrapup_done_without_a_call_in_wrapup_says_so_whatever_the_flags(
        emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True, **{"wrapup.enabled": True}).start()
    agent.wait_logged_in()
    call = agent.dial_answered(ANSWERS, after=2)
    for flags in ((), ("--keep",), ("--hangup",)):
        done = agent.cc("wrapup", "done", *flags, check=False, input="")
        assert done.returncode == 6, flags
        assert "no call is in wrap-up" in done.stderr and "--hangup or --keep" not in \
            done.stderr, flags
    # --hangup hung nothing up.
    assert [c["call_id"] for c in agent.json("calls")] == [call["call_id"]]
    assert "wrap-up" not in agent.cc("status").stdout

    agent.cc("hangup")
    wait_until(lambda: agent.status().get("wrapup"), 10, "wrap-up to start")
    status = agent.cc("status").stdout
    assert f"wrap-up call {call['call_id']} ({ANSWERS}) since " in status
    assert "left" not in status              # no wrapup.timeout: it lasts until done
    assert "closed after" in agent.cc("wrapup", "done", "--keep").stdout


def test_status_shows_the_time_wrapup_has_left(emulator, agent_factory):
    agent, call = in_wrapup(emulator, agent_factory, **{"wrapup.timeout": 120})
    agent.advance(30)
    line = [l for l in agent.cc("status").stdout.splitlines() if l.startswith("wrap-up")][0]
    assert line.startswith(f"wrap-up call {call['call_id']} ") and "1:30 left" in line
    assert agent.status()["wrapup"]["left"] == 90.0


def test_wrapup_is_off_says_so(agent):
    done = agent.cc("wrapup", "done", check=False, input="")
    assert done.returncode == 6
    assert "wrap-up is off" in done.stderr and "wrapup.enabled" in done.stderr


def test_during_a_consult_the_card_is_the_callers_and_hanging_up_completes_it(
        emulator, agent_factory, tmp_path):
    ivanova, petrenko = agents(emulator, agent_factory, tmp_path,
                               **{"wrapup.enabled": True})
    first, leg = consulting(emulator, ivanova, petrenko)
    card = ivanova.json("wrapup", "--subject", "Refund")
    assert card["call_id"] == first["call_id"] and card["number"] == CALLER
    assert ivanova.json("wrapup", "--call", leg["call_id"], "--subject", "Consult")[
        "call_id"] == leg["call_id"]

    shown = ivanova.cc("hangup").stdout      # no --call: the consult leg
    assert "transfer completed: the caller is put through to Petro Petrenko" in shown
    assert ivanova.json("calls") == []
    joined = wait_until(lambda: [c for c in petrenko.json("calls") if c["number"] == CALLER],
                        10, "the caller to reach Petrenko")[0]
    assert joined["state_name"] == "Connected"
    assert ivanova.log_row(first["call_id"])["end_reason"] == "Transferred"

    # Wrap-up is the caller's call's, and its card is the one `cc wrapup` fills.
    wrapup = wait_until(lambda: ivanova.status().get("wrapup"), 10, "wrap-up to start")
    assert wrapup["call_id"] == first["call_id"]
    assert ivanova.json("wrapup", "--result", "resolved")["call_id"] == first["call_id"]
    caller_card = ivanova.log_row(first["call_id"])
    assert (caller_card["subject"], caller_card["result"]) == ("Refund", "resolved")
    assert ivanova.log_row(leg["call_id"])["subject"] == "Consult"


def test_after_a_consult_without_wrapup_the_last_card_is_still_the_callers(
        emulator, agent_factory, tmp_path):
    ivanova, petrenko = agents(emulator, agent_factory, tmp_path)
    first, leg = consulting(emulator, ivanova, petrenko)
    ivanova.cc("transfer", "complete")
    ivanova.log_row(leg["call_id"])
    assert ivanova.json("wrapup", "--subject", "Moved to support")["call_id"] == \
        first["call_id"]
    assert ivanova.log_row(leg["call_id"])["subject"] in ("", None)
    done = ivanova.cc("wrapup", "--call", "999", "--subject", "x", check=False)
    assert done.returncode == 5 and "no call 999 in the call log" in done.stderr
    done = ivanova.cc("wrapup", "--call", leg["call_id"], "--id", "1", "--subject", "x",
                      check=False)
    assert done.returncode == 9 and "not both" in done.stderr
    assert ivanova.log_row(leg["call_id"])["subject"] in ("", None)


def test_hanging_up_before_the_target_answers_takes_the_caller_back(
        emulator, agent_factory, tmp_path):
    ivanova, petrenko = agents(emulator, agent_factory, tmp_path)
    emulator.admin("call-in", From=CALLER, To="101")
    ivanova.wait_call_state("Ringing")
    first = ivanova.json("answer")
    ivanova.cc("transfer", "Petro")
    petrenko.wait_call_state("Ringing")
    shown = ivanova.cc("hangup").stdout
    assert "consult cancelled, the caller is back" in shown
    assert [(c["call_id"], c["state_name"]) for c in ivanova.json("calls")] == \
        [(first["call_id"], "Connected")]
    wait_until(lambda: petrenko.json("calls") == [], 10, "the consult to leave Petrenko")


def test_with_hangup_completes_off_the_caller_stays_on_hold(
        emulator, agent_factory, tmp_path):
    ivanova, petrenko = agents(emulator, agent_factory, tmp_path,
                               **{"transfer.hangup_completes": False})
    first, leg = consulting(emulator, ivanova, petrenko)
    shown = ivanova.cc("hangup").stdout
    assert "the caller stays on hold" in shown
    assert [(c["call_id"], c["state_name"]) for c in ivanova.json("calls")] == \
        [(first["call_id"], "On hold")]
    ivanova.cc("unhold")
    assert ivanova.json("calls")[0]["state_name"] == "Connected"
    assert ivanova.log_row(first["call_id"])["transfer_to"] in ("", None)


def test_a_setting_the_daemon_can_take_reaches_it_at_once(manual):
    emulator, agent = manual
    shown = agent.cc("config", "set", "wrapup.enabled", "true").stdout
    assert shown == "wrapup.enabled = true\nthe running daemon uses it now\n"
    call = agent.dial_answered(ANSWERS, after=2)
    agent.cc("hangup")
    wrapup = wait_until(lambda: agent.status().get("wrapup"), 10, "wrap-up to start")
    assert wrapup["call_id"] == call["call_id"] and agent_state(agent) == "busy"
    assert agent.json("config", "set", "dial.mode", "callback")["daemon"] == "now"
    shown = agent.cc("config", "set", "server.password_command", "echo s3cret").stdout
    assert "at its next log-on" in shown
    # A hand-edited value the daemon cannot take is named; the daemon keeps what it has.
    config = agent.home / "config.toml"
    config.write_text(config.read_text().replace("poll_interval = 0.5", "poll_interval = -1"))
    done = agent.cc("config", "set", "dial.mode", "offhook", check=False)
    assert done.returncode == 8 and done.stderr.count("\n") == 1
    assert "dial.mode is set in the file, but the running daemon could not take it" in \
        done.stderr and "server.poll_interval" in done.stderr
    assert agent.status()["session"] == "logged in"
    pid = agent.daemon_pid()
    done = agent.cc("daemon", "restart", check=False, timeout=60)
    assert done.returncode == 8 and "server.poll_interval" in done.stderr
    assert agent.daemon_pid() == pid and agent.status()["pid"] == pid


def test_a_setting_read_at_start_says_restart_and_restart_applies_it(manual):
    emulator, agent = manual
    shown = agent.cc("config", "set", "server.login", "petrenko").stdout
    assert "the running daemon keeps the old value until `cc daemon restart`" in shown
    assert agent.status()["login"] == "ivanova"
    pid = agent.daemon_pid()
    shown = agent.cc("daemon", "restart", timeout=60).stdout
    assert f"daemon restarted (pid {pid} -> " in shown and "agent petrenko (ext 102)" in shown
    assert agent.wait_logged_in()["login"] == "petrenko"
    agent.cc("daemon", "stop")
    shown = agent.cc("daemon", "restart", timeout=60).stdout
    assert shown.startswith("daemon started (pid ") and "it was not running" in shown
    agent.wait_logged_in()


def test_restart_keeps_a_break_its_reason_and_its_time_left(manual):
    emulator, agent = manual
    agent.cc("break", "lunch", "--for", "2m")
    agent.advance(30)
    shown = agent.cc("daemon", "restart", timeout=60).stdout
    assert "Break (lunch) until" in shown
    agent.wait_logged_in()
    agent.advance(89)
    assert agent_state(agent) == "break"
    agent.advance(1)
    wait_until(lambda: agent_state(agent) == "available", 10, "the break to end by itself")


def test_restart_during_wrapup_goes_on_with_it(emulator, agent_factory):
    agent, call = in_wrapup(emulator, agent_factory, **{"wrapup.timeout": 300})
    before = agent.log_row(call["call_id"], durations_from="server")
    agent.advance(20)
    agent.cc("daemon", "restart", timeout=60)
    status = agent.wait_logged_in()
    assert status["wrapup"]["call_id"] == call["call_id"] and status["wrapup"]["left"] == 280
    wait_until(lambda: agent_state(agent) == "busy", 10, "Busy after the restart")
    agent.advance(10)
    assert "closed after 0:30" in agent.cc("wrapup", "done").stdout
    wait_until(lambda: agent_state(agent) == "available", 10, "Available after wrap-up")
    row = agent.log_row(call["call_id"])
    assert row["processing_seconds"] == 30.0
    # The record the restarted daemon wrote back is the one it took up, but for wrap-up.
    changed = {k for k in row if row[k] != before[k]}
    assert changed == {"processing_ended_at", "processing_seconds", "processing_started_at"} \
        or changed == {"processing_ended_at", "processing_seconds"}, changed
