"""Whatever mix of good and bad rows: every row is either processed or rejected, once."""

import csv
import io
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.cli import main

GOOD = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "顧客4"]),
    st.datetimes(
        min_value=datetime(2025, 1, 1),
        max_value=datetime(2026, 3, 1),
    ).map(lambda d: d.isoformat() + "+09:00"),
    st.integers(min_value=-5_000, max_value=100_000).map(str),
)
BAD = st.tuples(
    st.sampled_from(["c1", ""]),
    st.sampled_from(["2026-01-01T10:00:00", "soon", "2026-01-01T10:00:00+09:00"]),
    st.sampled_from(["1.5", "ten", ""]),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.booleans(), GOOD, BAD), max_size=30))
def test_every_row_is_processed_or_rejected(
    rows: list[tuple[bool, tuple[str, ...], tuple[str, ...]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path, out, rejects = Path(tmp, "in.csv"), Path(tmp, "out.csv"), Path(tmp, "bad.csv")
        chosen = [good if ok else bad for ok, good, bad in rows]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["customer_id", "ordered_at", "amount"])
            writer.writerows(chosen)
        err = io.StringIO()
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            code = main(["rfm", str(path), "--output", str(out), "--rejects", str(rejects)])
        n_good = sum(ok for ok, _, _ in rows)
        n_bad = len(rows) - n_good
        assert code == (1 if n_good == 0 and n_bad else 0)
        assert f"{n_good:,} rows processed, {n_bad:,} rejected" in err.getvalue()
        if n_bad:
            with rejects.open(encoding="utf-8", newline="") as handle:
                lines = [int(r["_line"]) for r in csv.DictReader(handle)]
            assert lines == [i + 2 for i, (ok, _, _) in enumerate(rows) if not ok]
        buyers = {good[0] for ok, good, _ in rows if ok and int(good[2]) >= 0}
        if n_good:
            with out.open(encoding="utf-8", newline="") as handle:
                assert {r["customer_id"] for r in csv.DictReader(handle)} == buyers
