"""Idempotent re-imports, resume after kill -9, mixed files, and the file fingerprint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from picobanana.errors import StoreError
from picobanana.io.importer import file_fingerprint, import_file
from picobanana.store import Store

BAD_EVERY = 997  # a line that is not JSON at every multiple of this


def sft_line(i: int) -> str:
    return json.dumps({"open_image_input_url": f"https://farm{i % 9 + 1}.staticflickr.com/{i}/{i}_ab_o.jpg",
                       "text": f"Remove object number {i} and fill the background.",
                       "output_image": f"images/positive-edit/{i}.png",
                       "edit_type": "Remove an existing object", "summarized_text": f"Remove object {i}."})


def write_sft(path, n: int, bad_every: int | None = None) -> None:
    with open(path, "w") as out:
        out.writelines("{oops\n" if bad_every and i % bad_every == 0 else sft_line(i) + "\n"
                       for i in range(1, n + 1))


def test_reimport_adds_nothing(store, pico_fixtures):
    first = import_file(store, pico_fixtures / "sft-sample.jsonl")
    before = {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("sources", "edits", "attempts")}
    revision = store.revision

    again = import_file(store, pico_fixtures / "sft-sample.jsonl")
    assert again.status == "already_imported" and again.import_file_id == first.import_file_id
    assert store.revision == revision  # nothing was written at all

    forced = import_file(store, pico_fixtures / "sft-sample.jsonl", force=True)
    assert forced.status == "imported"
    assert forced.kinds["sft"].imported == 0 and forced.kinds["sft"].duplicates == 23
    assert {t: store.scalar(f"SELECT COUNT(*) FROM {t}") for t in before} == before
    assert store.scalar("SELECT COUNT(*) FROM import_files") == 1


def test_a_copy_under_another_name_is_the_same_file(store, pico_fixtures, tmp_path):
    copy = tmp_path / "renamed.jsonl"
    copy.write_bytes((pico_fixtures / "sft-sample.jsonl").read_bytes())
    import_file(store, pico_fixtures / "sft-sample.jsonl")
    assert import_file(store, copy).status == "already_imported"


def test_overlapping_files_count_duplicates(store, tmp_path):
    write_sft(tmp_path / "a.jsonl", 300)
    with open(tmp_path / "b.jsonl", "w") as out:  # lines 201..400, and line 250 twice
        out.writelines(sft_line(i) + "\n" for i in [*range(201, 401), 250])
    import_file(store, tmp_path / "a.jsonl", batch_size=64)
    report = import_file(store, tmp_path / "b.jsonl", batch_size=64)
    assert (report.kinds["sft"].imported, report.kinds["sft"].duplicates) == (100, 101)
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 400
    assert store.scalar("SELECT COUNT(*) FROM sources") == 400


def test_duplicate_lines_within_one_batch(store, tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text("".join(sft_line(i) + "\n" for i in [1, 2, 1, 3, 2, 1]))
    report = import_file(store, path)
    assert (report.kinds["sft"].imported, report.kinds["sft"].duplicates) == (3, 3)
    assert [r[0] for r in store.query("SELECT import_line FROM attempts ORDER BY id")] == [1, 2, 4]


def test_mixed_kinds_in_one_file(store, pico_fixtures, tmp_path):
    lines = []
    for name in ("sft", "preference", "multi-turn"):
        lines += (pico_fixtures / f"{name}-sample.jsonl").read_text().splitlines()
    lines = lines[:5] + lines[23:24] + lines[5:10] + lines[-1:] + lines[24:26] + lines[10:23]  # interleaved
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = import_file(store, path, batch_size=4)
    assert {k: c.imported for k, c in report.kinds.items()} == {"sft": 23, "preference": 3, "multi-turn": 1}
    assert report.rejected == 0
    assert store.scalar("SELECT kind FROM import_files") == "mixed"
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 36
    assert store.scalar("SELECT import_line FROM chains") == 12


def test_resume_after_kill_9(tmp_path):
    """A real import process is killed mid-file; running the import again finishes it with one copy of
    each record and exact counts."""
    n, batch = 24_000, 400
    path = tmp_path / "big.jsonl"
    write_sft(path, n, bad_every=BAD_EVERY)
    workspace = tmp_path / "ws"
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from picobanana.store import Store
        from picobanana.io.importer import import_file
        def progress(phase, done, total):
            print(phase, done, flush=True)
        with Store.open({str(workspace)!r}) as store:
            import_file(store, {str(path)!r}, batch_size={batch}, progress=progress)
        print("finished", flush=True)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(5):  # five batches committed, then kill it while it writes the next ones
            line = child.stdout.readline()
            assert line.startswith("lines "), line
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    with Store.open(workspace) as store:
        row = store.query("SELECT * FROM import_files")[0]
        assert row["status"] == "running"
        assert 0 < row["bytes_done"] < path.stat().st_size
        assert row["lines_done"] % batch == 0 and row["lines_done"] >= 5 * batch
        committed = row["lines_done"]
        bad_so_far = committed // BAD_EVERY
        # What was committed is exactly the first `committed` lines: no partial batch.
        assert store.scalar("SELECT COUNT(*) FROM attempts") == committed - bad_so_far
        assert store.scalar("SELECT MAX(import_line) FROM attempts") <= committed
        assert store.scalar("SELECT COUNT(*) FROM import_errors") == bad_so_far

        report = import_file(store, path, batch_size=batch)

        assert report.resumed_from_line == committed + 1
        assert report.status == "imported" and report.lines == n
        bad = n // BAD_EVERY
        assert report.kinds["sft"].imported == n - bad and report.kinds["sft"].duplicates == 0
        assert report.unparsed == bad and report.rejected == bad
        assert store.scalar("SELECT COUNT(*) FROM attempts") == n - bad
        assert store.scalar("SELECT COUNT(DISTINCT import_line) FROM attempts") == n - bad
        assert store.scalar("SELECT COUNT(*) FROM edits") == n - bad
        assert store.scalar("SELECT COUNT(*) FROM sources") == n - bad
        assert [r[0] for r in store.query("SELECT line_no FROM import_errors ORDER BY line_no")] == [
            BAD_EVERY * k for k in range(1, bad + 1)]
        final = store.query("SELECT * FROM import_files")[0]
        assert (final["status"], final["bytes_done"], final["lines_done"]) == ("done", path.stat().st_size, n)
        assert (final["imported"], final["rejected"]) == (n - bad, bad)


def test_interrupt_marks_the_file_and_resumes(store, tmp_path):
    path = tmp_path / "f.jsonl"
    write_sft(path, 1000)
    calls = []

    def stop_after_three(phase, done, total):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_file(store, path, batch_size=100, progress=stop_after_three)
    row = store.query("SELECT status, lines_done FROM import_files")[0]
    assert (row["status"], row["lines_done"]) == ("interrupted", 300)
    report = import_file(store, path, batch_size=100)
    assert report.resumed_from_line == 301 and report.kinds["sft"].imported == 1000
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 1000


def test_a_second_importer_of_the_same_file_is_refused(store, tmp_path):
    """Two processes importing one file at once would double-count: the second to commit stops."""
    path = tmp_path / "f.jsonl"
    write_sft(path, 300)
    other = Store.open(store.workspace)
    try:
        def meanwhile(phase, done, total):
            if done < total:  # after our first batch, the other process imports the whole file
                import_file(other, path, batch_size=100)

        with pytest.raises(StoreError, match="another process is importing the same file"):
            import_file(store, path, batch_size=100, progress=meanwhile)
    finally:
        other.close()
    assert store.scalar("SELECT COUNT(*) FROM attempts") == 300
    assert store.query("SELECT status, imported FROM import_files")[0][:] == ("done", 300)


def test_a_changed_file_with_a_stale_offset_is_read_again(store, tmp_path):
    path = tmp_path / "f.jsonl"
    write_sft(path, 50)
    report = import_file(store, path)
    # Simulate a fingerprint collision: an unfinished import whose offset is not a line start.
    store.conn.execute("UPDATE import_files SET status = 'interrupted', bytes_done = 7, lines_done = 1")
    again = import_file(store, path)
    assert again.resumed_from_line is None and again.lines == 50
    assert again.kinds["sft"].duplicates == 50 and report.kinds["sft"].imported == 50


def test_fingerprint_reads_only_the_ends(tmp_path):
    big = tmp_path / "big.jsonl"
    big.write_bytes(b"a" * 300_000)
    same_ends = tmp_path / "same-ends.jsonl"
    same_ends.write_bytes(b"a" * 100_000 + b"b" * 100_000 + b"a" * 100_000)  # differs only in the middle
    other_end = tmp_path / "other-end.jsonl"
    other_end.write_bytes(b"a" * 299_999 + b"b")
    fingerprint, size = file_fingerprint(big)
    assert size == 300_000 and fingerprint.startswith("300000-")
    assert file_fingerprint(same_ends)[0] == fingerprint  # the documented blind spot
    assert file_fingerprint(other_end)[0] != fingerprint
    small = tmp_path / "small.jsonl"
    small.write_bytes(b"abc")
    assert file_fingerprint(small)[0] != file_fingerprint(tmp_path / "big.jsonl")[0]
