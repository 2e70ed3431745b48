"""Call operations and agent states of the user guide, through `cc` against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess

from conftest import CC, wait_until

ANSWERS = "+380441110001"
BUSY = "+380441110002"
NEVER_ANSWERS = "+380441110003"


def agent_state(agent) -> str:
    return agent.status()["agent_state"]["name"]


def emulated_call(emulator) -> dict:
    """The emulator's record of the agent's one live call, once the server has placed it."""
    return wait_until(lambda: [c for c in emulator.admin("calls")["Calls"]
                               if c["Active"] and not c["Ended"]], 10, "the placed call")[0]


def test_dial_wait_exits_with_a_code_for_each_outcome(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    dialling = agent.begin("dial", ANSWERS, "--wait", "--json")
    emulated_call(emulator)
    emulator.advance(2)                          # the far end's answer_after
    assert json.loads(dialling.finish().stdout)["state_name"] == "Connected"
    agent.cc("hangup")

    dialling = agent.begin("dial", BUSY, "--wait")
    emulated_call(emulator)
    emulator.advance(1)                          # a busy far end fails after 1 s
    done = dialling.finish(check=False)
    assert done.returncode == 11 and "busy" in done.stderr

    dialling = agent.begin("dial", NEVER_ANSWERS, "--wait", "--timeout", "1", "--json")
    wait_until(lambda: agent.answers_from_server("/call/make/") == 3, 10,
               "the third call to be placed (the daemon then waits on its clock)")
    agent.advance(0.9)
    assert dialling.proc.poll() is None and agent.json("calls")[0]["state_name"] == "Alerting"
    agent.advance(0.1)
    done = dialling.finish(check=False)
    assert done.returncode == 12 and "did not answer within 1 s" in done.stderr
    call = json.loads(done.stdout)
    assert call["timed_out"] and call["ended_at"]
    agent.log_row(call["call_id"], outcome="cancelled")
    assert agent.json("calls") == []


def test_reject_an_incoming_call(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)     # the call rings until rejected
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    call_id = emulator.admin("call-in", From="+380671112233", To="101")["IDCall"]
    agent.wait_call_state("Ringing")
    agent.cc("reject")
    agent.log_row(call_id, outcome="rejected", direction="in")


def test_several_calls_are_listed_and_named_by_id(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)     # the calls ring until told otherwise
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    first = str(emulator.admin("call-in", From="+380671110001", To="101")["IDCall"])
    second = str(emulator.admin("call-in", From="+380671110002", To="101")["IDCall"])
    wait_until(lambda: len(agent.json("calls")) == 2, 10, "two ringing calls")
    listed = agent.cc("calls").stdout
    assert first in listed and second in listed
    done = agent.cc("answer", check=False)
    assert done.returncode == 9 and first in done.stderr and "--call" in done.stderr
    agent.cc("answer", "--call", second)
    answered = {c["call_id"]: c["state_name"] for c in agent.json("calls")}
    assert answered == {first: "Ringing", second: "Connected"}
    agent.cc("hangup", "--call", second)
    agent.cc("reject", "--call", first)
    agent.log_row(first, outcome="rejected")
    agent.log_row(second, outcome="answered")


def test_break_with_a_regulated_reason_returns_to_available_by_itself(emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True).start()
    agent.wait_logged_in()
    shown = agent.cc("break", "lunch", "--for", "2m").stdout
    assert "Break (lunch) until" in shown
    assert agent_state(agent) == "break"
    agent.advance(119)
    assert agent_state(agent) == "break"
    agent.advance(1)                        # the daemon is back to Available when this returns
    assert agent_state(agent) == "available"


def test_break_reasons_are_checked_and_other_takes_free_text(agent):
    done = agent.cc("break", "nap", check=False)
    assert done.returncode == 9 and "lunch" in done.stderr and "--other" in done.stderr
    assert "Break (dentist)" in agent.cc("break", "--other", "dentist").stdout
    agent.cc("away")
    assert agent_state(agent) == "away"
    agent.cc("available")
    assert agent_state(agent) == "available"
    done = agent.cc("away", "--for", "soon", check=False)
    assert done.returncode == 9 and "not a duration" in done.stderr


def test_break_after_call_starts_when_the_call_ends(agent):
    agent.cc("dial", ANSWERS, "--wait")
    assert "break after the call" in agent.cc("break", "training", "--after-call").stdout
    wait_until(lambda: agent_state(agent) == "busy", 10, "Busy on the call")
    agent.cc("hangup")
    wait_until(lambda: agent_state(agent) == "break", 10, "the break after the call")
    assert agent.status()["state_reason"] == "training"


def test_hold_over_30s_makes_agent_busy_then_no_phone(emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    agent.dial_answered(ANSWERS, after=2)
    agent.cc("hold")
    # An advance returns once the server's changes have been pushed to the daemon.
    emulator.advance(29.9)
    assert agent_state(agent) == "available"
    emulator.advance(0.1)
    assert agent_state(agent) == "busy"
    emulator.advance(29.9)
    assert agent_state(agent) == "busy"
    emulator.advance(0.1)
    assert agent_state(agent) == "no-phone"
    assert "No phone" in agent.cc("status").stdout
    agent.cc("unhold")
    wait_until(lambda: agent_state(agent) == "busy", 10, "Busy again, back on the call")
    agent.cc("hangup")
    wait_until(lambda: agent_state(agent) == "available", 10, "Available after the call")


def test_dtmf_and_redial(agent):
    call = agent.json("dial", ANSWERS, "--wait")
    assert agent.json("dtmf", "12*#")["digits"] == "12*#"
    done = agent.cc("dtmf", "12x", check=False)
    assert done.returncode == 9 and "0-9" in done.stderr
    agent.cc("hangup")
    agent.log_row(call["call_id"], outcome="answered")
    again = agent.json("redial")
    assert again["number"] == ANSWERS and again["call_id"] != call["call_id"]
    agent.cc("hangup")
    done = agent.cc("redial", "9999", check=False)
    assert done.returncode == 5 and "9999" in done.stderr


def read_lines(proc, n: int) -> list[dict]:
    return [json.loads(proc.stdout.readline()) for _ in range(n)]


def test_watch_prints_a_snapshot_then_every_change_and_resumes_without_a_gap(
        emulator_factory, agent_factory):
    emulator = emulator_factory(manual_clock=True)     # the call rings until we hang up
    agent = agent_factory(emulator).start()
    agent.wait_logged_in()
    proc = subprocess.Popen([CC, "watch", "--json", "--count", "2"], env=agent.env,
                            stdout=subprocess.PIPE, text=True)
    try:
        snapshot = json.loads(proc.stdout.readline())
        assert snapshot["kind"] == "snapshot"
        assert snapshot["data"]["agent_state"]["name"] == "available"
        call = agent.json("dial", NEVER_ANSWERS)
        changes = read_lines(proc, 2)
        proc.wait(10)
    finally:
        proc.kill()
    seqs = [c["seq"] for c in changes]
    assert seqs == [snapshot["seq"] + 1, snapshot["seq"] + 2]
    assert [(c["kind"], c["data"]["call_id"]) for c in changes] == [("call", call["call_id"])] * 2
    # The call appears (our dial's answer or the server's event may come first), then rings.
    assert changes[0]["data"]["state_name"] in ("Dialling", "Unknown")
    assert changes[1]["data"]["state_name"] == "Alerting"

    agent.cc("hangup")
    resumed = agent.cc("watch", "--json", "--since", str(seqs[-1]), "--count", "1",
                       timeout=15).stdout
    first = json.loads(resumed.splitlines()[0])
    assert first["seq"] == seqs[-1] + 1

    proc = subprocess.Popen([CC, "watch", "--since", "999999"], env=agent.env,
                            stdout=subprocess.PIPE, text=True)
    try:
        gap, fresh = proc.stdout.readline(), proc.stdout.readline()
    finally:
        proc.kill()
    assert "gap: events after 999999 are no longer kept" in gap
    assert "agent ivanova (ext 101): Available" in fresh


def test_wrapup_keeps_the_agent_busy_until_done_and_records_processing_time(
        emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True, **{"wrapup.enabled": True}).start()
    agent.wait_logged_in()
    call = agent.json("dial", ANSWERS, "--wait")
    agent.cc("break", "lunch", "--after-call")
    agent.cc("hangup")
    wait_until(lambda: agent_state(agent) == "busy", 10, "Busy during wrap-up")
    assert "CALL-000001" in agent.cc("wrapup").stdout
    agent.advance(42)                              # the agent writes up the call
    assert agent_state(agent) == "busy"
    assert "closed after 0:42" in agent.cc("wrapup", "done").stdout
    # The break asked for --after-call starts when wrap-up ends.
    wait_until(lambda: agent_state(agent) == "break", 10, "the break after wrap-up")
    row = agent.log_row(call["call_id"], durations_from="server")
    assert row["processing_seconds"] == 42.0
    assert row["processing_started_at"] < row["processing_ended_at"]
    done = agent.cc("wrapup", "done", check=False)
    assert done.returncode == 6 and "no call is in wrap-up" in done.stderr


def test_wrapup_closes_by_itself_after_its_timeout(emulator, agent_factory):
    agent = agent_factory(emulator, manual_clock=True,
                          **{"wrapup.enabled": True, "wrapup.timeout": 120}).start()
    agent.wait_logged_in()
    call = agent.json("dial", ANSWERS, "--wait")
    agent.cc("hangup")
    wait_until(lambda: agent_state(agent) == "busy", 10, "Busy during wrap-up")
    agent.advance(119)
    assert agent.log_row(call["call_id"])["processing_ended_at"] is None
    agent.advance(1)                   # wrap-up has closed when this returns
    assert agent.log_row(call["call_id"])["processing_seconds"] == 120.0
    assert agent_state(agent) == "available"


def test_watch_notices_a_restarted_daemon_and_takes_a_fresh_snapshot(agent):
    proc = subprocess.Popen([CC, "watch"], env=agent.env, stdout=subprocess.PIPE, text=True)
    try:
        assert "agent ivanova" in proc.stdout.readline()
        proc.stdout.readline()                       # line idle
        agent.cc("daemon", "stop")
        agent.start()
        agent.wait_logged_in()
        agent.cc("away")
        lines = [proc.stdout.readline() for _ in range(2)]
    finally:
        proc.kill()
    assert "gap: the daemon restarted" in lines[0]
    assert "agent ivanova (ext 101)" in lines[1]


def test_ctrl_c_ends_watch_with_exit_130_and_no_traceback(agent):
    proc = subprocess.Popen([CC, "watch"], env=agent.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert "agent ivanova" in proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130 and err == ""
