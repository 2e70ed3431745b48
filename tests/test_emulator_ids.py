"""The emulator never hands out one call ID twice, even across its restarts: a daemon's
call log outlives the server it was talking to."""

from __future__ import annotations

from daemon.testing import Emulator


def test_call_ids_of_a_restarted_emulator_never_repeat(tmp_path):
    seen = []
    for run in range(2):
        workdir = tmp_path / f"run{run}"
        workdir.mkdir()
        emulator = Emulator(workdir, manual_clock=True)
        try:
            user = emulator.api("/user/logon/", Login="ivanova", Password="s3cret",
                                IDRole=1)["IDUser"]
            seen += [int(emulator.api("/call/make/", IDUser=user,
                                      Number="+380441110003")["IDCall"]) for _ in range(3)]
        finally:
            emulator.stop()
    assert len(set(seen)) == len(seen) == 6
    assert seen == sorted(seen)
