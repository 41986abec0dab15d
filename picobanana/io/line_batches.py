"""Read a JSONL file from a byte offset in batches of parsed lines (the importer's producer side).

Binary reads line by line: memory holds one batch, whatever the file size. A batch also carries its own
counters (blank lines, rejections per kind, alias spellings) and the byte offset and line number where it
ends, which the importer commits with the batch's rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from picobanana.io.pico_format import Kind
from picobanana.io.release_lines import Record, RejectedLine, parse_line

MAX_LINE_BYTES = 8 * 1024 * 1024  # a release line is < 4 KB; anything this long is not a record


@dataclass
class LineBatch:
    records: list[Record] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    end_offset: int = 0  # byte offset just after the batch's last line
    end_line: int = 0  # number of the batch's last line
    blank: int = 0
    unparsed: int = 0  # rejected lines that are not a JSON object
    rejected: Counter = field(default_factory=Counter)  # kind → rejected lines
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (kind, spelling found)
    local_inputs: int = 0  # records naming a local source image


class LineReader:
    """LineBatch objects of `batch_size` lines from `offset` (a line start), numbering from line_no + 1."""

    def __init__(self, path: Path, offset: int, line_no: int, batch_size: int, kind: Kind | None = None):
        self.path, self.offset, self.line_no = path, offset, line_no
        self.batch_size, self.kind = max(1, batch_size), kind
        self.base_dir = path.resolve().parent

    def batches(self) -> Iterator[LineBatch]:
        # Parsing in a second thread was measured: no faster on this 2-vCPU machine (the threads share one
        # core's caches and the GIL is handed back after every SQLite call), so it stays in line.
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            while (batch := self._read_batch(handle)) is not None:
                yield batch

    def _read_batch(self, handle) -> LineBatch | None:
        batch = LineBatch()
        records, errors, kind, base_dir = batch.records, batch.errors, self.kind, self.base_dir
        offset, line_no, n = self.offset, self.line_no, 0
        for raw in iter(partial(handle.readline, MAX_LINE_BYTES), b""):
            line_no += 1
            offset += len(raw)
            n += 1
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                offset += _skip_rest_of_line(handle)
                batch.unparsed += 1
                errors.append((line_no, f"line longer than {MAX_LINE_BYTES:,} bytes"))
            elif raw.isspace():
                batch.blank += 1
            else:
                try:
                    record = parse_line(raw, line_no, forced_kind=kind, base_dir=base_dir)
                except RejectedLine as exc:
                    if exc.kind is None:
                        batch.unparsed += 1
                    else:
                        batch.rejected[exc.kind] += 1
                    errors.append((line_no, exc.reason))
                else:
                    records.append(record)
                    if record.local_input:
                        batch.local_inputs += 1
                    if record.alias is not None:
                        batch.aliases.append((record.kind, record.alias))
            if n >= self.batch_size:
                break
        if n == 0:
            return None
        self.offset, self.line_no = batch.end_offset, batch.end_line = offset, line_no
        return batch


def _skip_rest_of_line(handle) -> int:
    skipped = 0
    while True:
        chunk = handle.readline(MAX_LINE_BYTES)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped
