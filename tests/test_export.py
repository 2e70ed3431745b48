"""`cc log --format csv --output FILE`: the daemon writes the lines SQLite makes, and they
are byte for byte the lines Python's csv module wrote from the rows before."""

from __future__ import annotations

import csv
import sqlite3

import pytest

from daemon import export
from daemon.store import Store, open_log
from daemon.wire import LOG_COLUMNS

ODD_TEXT = ['say "hi"', "a,b", "two\nlines", "cr\ronly", "crlf\r\nend", "", " lead", "trail ",
            "Бондар Ольга", "Сідей, \"Бо\"", "tab\there", "\x1e mark", "\x1f unit", "'q'",
            "комa,кома", "emoji 🙂", "=1+2", "\\back"]
ODD_REALS = [0.0, -0.0, 0.1 + 0.2, 1e-05, 0.0001, 2.5e-07, 100.086, 604799.999999999, 1 / 3, 30.0,
             5e-324, 12.345, 0.5, 7.0]
ODD_COUNTERS = [None, 0, -1, 2**62, 1e-05, 0.1 + 0.2, 1.5, -2.25, 1e15 + 0.5, 123456789012345.6,
                "not a number", "a,b", -0.0]


def previous(database, columns) -> str:
    """The export as the daemon wrote it before: the csv module over the cursor's tuples."""
    conn = open_log(database, read_only=True)
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    sql, args = Store.select(limit=None, columns=columns)
    writer.writerows(conn.execute(sql, args))
    conn.close()
    return out.getvalue()


def varied_log(path, plain: int = 30):
    """A call log with `plain` ordinary calls and one call for each odd value."""
    Store(path).close()
    conn = sqlite3.connect(path)
    rows = []
    for n in range(plain):
        rows.append({"call_id": f"plain-{n}", "direction": "in", "number": f"+38044{n:07}",
                     "agent": "ivanova", "started_at": f"2026-11-{1 + n % 20:02}T09:{n % 60:02}"
                     ":00.000+00:00", "wait_seconds": 1.5 + n, "talk_seconds": 60.0 * n,
                     "hold_seconds": None, "outcome": "answered", "counter": n + 1,
                     "subject": "Оплата" if n % 2 else None})
    odd = [("subject", t) for t in ODD_TEXT] + [("notes", t) for t in ODD_TEXT] + \
        [("talk_seconds", r) for r in ODD_REALS] + [("counter", c) for c in ODD_COUNTERS]
    for n, (column, value) in enumerate(odd):
        rows.append({"call_id": f"odd-{n}", "direction": "out", "number": "+380441110001",
                     "started_at": f"2026-10-{1 + n % 28:02}T10:00:{n % 60:02}.000+00:00",
                     column: value})
    for row in rows:
        names = ", ".join(row)
        conn.execute(f"insert into calls ({names}, server) values "
                     f"({', '.join('?' * len(row))}, '')", list(row.values()))
    conn.commit()
    conn.close()
    return len(rows), len(odd)


def exported(database, target, columns, batch=None) -> tuple[int, str]:
    if batch is not None:       # several blocks, some plain and some not
        conn = open_log(database, read_only=True)
        with export.replacing(target) as out:
            count = export.csv_lines(conn, out, columns,
                                     lambda cols: Store.select(limit=None, columns=cols), batch)
        conn.close()
    else:
        count = export.write_file(database, target, "csv", columns,
                                  lambda cols: Store.select(limit=None, columns=cols))
    return count, target.read_bytes().decode("utf-8")


@pytest.mark.parametrize("batch", [None, 1, 7])
def test_the_lines_sqlite_makes_are_the_csv_modules(tmp_path, batch):
    database = tmp_path / "calls.db"
    total, _ = varied_log(database)
    count, text = exported(database, tmp_path / "out.csv", LOG_COLUMNS, batch)
    assert count == total
    assert text == previous(database, LOG_COLUMNS)
    assert "Бондар Ольга" in text and '"say ""hi"""' in text and "0.30000000000000004" in text


def test_a_choice_of_columns_and_one_column(tmp_path):
    database = tmp_path / "calls.db"
    varied_log(database)
    for columns in (("counter", "subject", "talk_seconds"), ("subject",), ("id", "counter")):
        _, text = exported(database, tmp_path / "out.csv", columns)
        assert text == previous(database, columns), columns


def test_plain_rows_are_made_by_sqlite_and_only_odd_ones_by_python(tmp_path, monkeypatch):
    database = tmp_path / "calls.db"
    total, odd = varied_log(database, plain=50)
    again = []
    real = export._csv_row
    monkeypatch.setattr(export, "_csv_row", lambda conn, sql, row_id: again.append(row_id)
                        or real(conn, sql, row_id))
    count, text = exported(database, tmp_path / "out.csv", LOG_COLUMNS, batch=10)
    assert text == previous(database, LOG_COLUMNS)
    # The odd ones the csv module quotes or SQLite prints otherwise; none of the plain ones.
    assert 0 < len(again) < odd
    conn = sqlite3.connect(database)
    plain = {i for (i,) in conn.execute("select id from calls where call_id like 'plain-%'")}
    assert not plain & set(again)


def test_the_characters_csv_quotes_are_found_by_asking_it():
    assert {",", '"', "\n"} <= set(export.csv_quoted().decode())
    assert not {"a", " ", ";", "\t"} & set(export.csv_quoted().decode())
