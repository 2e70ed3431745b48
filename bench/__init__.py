"""The benchmarks of cc: speed is measured here, never asserted in tests.

`make bench` runs them all (bench/run.py) and prints one line per figure with its
target; `.venv/bin/python -m bench.NAME` runs one. Each starts its own emulator and
daemon under a short private CC_HOME (/tmp/cc-bench-*) and stops them at the end, also
on failure or Ctrl-C. BENCH_VERBOSE=1 tells on stderr what is started where.

  status_e2e  `cc status` end to end, against a bare Typer hello     (figure 1)
  roundtrip   status and dial over the daemon's ZeroMQ socket        (figure 2)
  ingest      OnStateChanged events per second, journal on           (figure 3)
  calllog     the call log at 1,000,000 calls; the daemon's memory   (figures 4, 5)
  journal     cc journal on a 150 MB journal
  purge       retention's purge of 300,000 calls: the loop held at most
  team        the team store: replication, fifty writers, reads at 10,000,000 calls

The 1,000,000-call database is cached in /tmp/cc-bench-cache/schema-vN-DIGEST/ (N: the
store's schema version; DIGEST: of its migrations and of the rows we make) and rebuilt
when either changes, or after a week. Bytecode of the processes started is cached in
/tmp/cc-bench-cache/pycache/.
"""
