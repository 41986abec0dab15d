"""Sharded Parquet that Hugging Face `datasets` reads with `Image` features.

    parquet/<kind>/<split>-00000-of-0000N.parquet      (ZSTD; N known only at the end, so shards are renamed)

Images are embedded the way `datasets` stores them: a struct {bytes, path}; the schema carries the `datasets`
features under the metadata key b"huggingface" ({"info": {"features": ...}}), so
`load_dataset("parquet", ...)` decodes image columns to PIL images and everything else to plain values.
Without embedding, image columns are plain strings holding the relative path (and the features say so).

Rows are buffered column-wise and written as one row group per batch; a shard closes after `shard_rows` rows
(or 512 MB of embedded images), so memory stays flat however large the split is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from picobanana.io.pico_format import Kind

IMAGE_STRUCT = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_IMAGE_FEATURE = {"_type": "Image"}
# "Sequence" rather than the newer "List": datasets 2.x-5.x all read it.
_LIST = "Sequence"

_TEXT_BATCH_ROWS = 20_000
_IMAGE_BATCH_ROWS = 100           # keeps row groups small enough for streaming readers of image datasets
_IMAGE_BATCH_BYTES = 64 << 20
_IMAGE_SHARD_BYTES = 512 << 20


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: pa.DataType
    feature: dict


def _value(name: str, arrow: pa.DataType, dtype: str) -> Column:
    return Column(name, arrow, {"dtype": dtype, "_type": "Value"})


def _string(name: str) -> Column:
    return _value(name, pa.string(), "string")


def _image(name: str, embed: bool) -> Column:
    return Column(name, IMAGE_STRUCT, _IMAGE_FEATURE) if embed else _string(name)


def _image_list(name: str, embed: bool) -> Column:
    if embed:
        return Column(name, pa.list_(IMAGE_STRUCT), {"feature": _IMAGE_FEATURE, "_type": _LIST})
    return _string_list(name)


def _string_list(name: str) -> Column:
    feature = {"feature": {"dtype": "string", "_type": "Value"}, "_type": _LIST}
    return Column(name, pa.list_(pa.string()), feature)


def columns_for(kind: Kind, embed: bool) -> list[Column]:
    """The Parquet columns of each kind, in order."""
    if kind == "sft":
        return [
            _string("source_url"), _image("source_image", embed), _image("edited_image", embed),
            _string("output_image"), _string("edit_type"), _string("category"), _string("text"),
            _string("summarized_text"), _string("split"),
            *(_value(n, pa.float64(), "float64")
              for n in ("score", "compliance", "seamlessness", "preservation", "quality")),
            _string("verdict_source"), _value("attempt_id", pa.int64(), "int64"),
        ]
    if kind == "preference":
        return [
            _string("source_url"), _image("source_image", embed), _image("chosen_image", embed),
            _image_list("rejected_images", embed), _string("output_image"),
            _string_list("rejected_image_paths"),
            _string("edit_type"), _string("category"), _string("text"), _string("summarized_text"),
            _string("split"), _value("chosen_score", pa.float64(), "float64"),
            _value("attempt_id", pa.int64(), "int64"),
        ]
    return [
        _string("source_url"), _image("source_image", embed), _image_list("turn_images", embed),
        _string_list("turn_image_paths"), _string_list("prompts"), _value("n_turns", pa.int64(), "int64"),
        _string("split"), _value("chain_id", pa.int64(), "int64"),
    ]


def schema_for(kind: Kind, embed: bool) -> pa.Schema:
    columns = columns_for(kind, embed)
    features = {c.name: c.feature for c in columns}
    metadata = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    return pa.schema([pa.field(c.name, c.type) for c in columns], metadata=metadata)


class _ShardedWriter:
    """One kind × split: buffers rows column-wise, writes row groups, rolls shards."""

    def __init__(self, folder: Path, split: str, schema: pa.Schema, shard_rows: int, embed: bool):
        self.folder = folder
        self.split = split
        self.schema = schema
        self.shard_rows = shard_rows
        self.batch_rows = min(shard_rows, _IMAGE_BATCH_ROWS if embed else _TEXT_BATCH_ROWS)
        self.batch_bytes = _IMAGE_BATCH_BYTES if embed else 1 << 62
        self.shard_bytes = _IMAGE_SHARD_BYTES if embed else 1 << 62
        self._columns: list[list] = [[] for _ in schema]
        self._buffered_rows = 0
        self._buffered_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_rows_written = 0
        self._shard_bytes_written = 0
        self._shards: list[Path] = []
        self.rows = 0

    def add(self, values: Sequence, nbytes: int) -> None:
        for column, value in zip(self._columns, values, strict=True):
            column.append(value)
        self._buffered_rows += 1
        self._buffered_bytes += nbytes
        self.rows += 1
        if (self._buffered_rows >= self.batch_rows or self._buffered_bytes >= self.batch_bytes
                or self._shard_rows_written + self._buffered_rows >= self.shard_rows):
            self._flush()

    def _flush(self) -> None:
        if not self._buffered_rows:
            return
        if self._writer is None:
            path = self.folder / f".{self.split}-{len(self._shards):05d}.parquet.partial"
            self.folder.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
            self._shards.append(path)
        arrays = [pa.array(values, type=field.type) for values, field in zip(self._columns, self.schema)]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self._shard_rows_written += self._buffered_rows
        self._shard_bytes_written += self._buffered_bytes
        self._columns = [[] for _ in self.schema]
        self._buffered_rows = self._buffered_bytes = 0
        if self._shard_rows_written >= self.shard_rows or self._shard_bytes_written >= self.shard_bytes:
            self._close_shard()

    def _close_shard(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._shard_rows_written = self._shard_bytes_written = 0

    def close(self) -> list[Path]:
        self._flush()
        self._close_shard()
        total = len(self._shards)
        final = []
        for index, partial in enumerate(self._shards):
            path = self.folder / f"{self.split}-{index:05d}-of-{total:05d}.parquet"
            partial.rename(path)
            final.append(path)
        return final


class ParquetSink:
    """Writes one kind's Parquet shards, per split, as rows arrive (values in `columns_for` order)."""

    def __init__(self, root: Path, kind: Kind, *, embed: bool, shard_rows: int):
        self.folder = root / "parquet" / kind
        self.schema = schema_for(kind, embed)
        self.embed = embed
        self.shard_rows = shard_rows
        self._splits: dict[str, _ShardedWriter] = {}
        self.files: list[Path] = []

    def write(self, split: str, values: Sequence, nbytes: int = 0) -> None:
        writer = self._splits.get(split)
        if writer is None:
            writer = self._splits[split] = _ShardedWriter(self.folder, split, self.schema, self.shard_rows,
                                                          self.embed)
        writer.add(values, nbytes)

    def close(self) -> None:
        for writer in self._splits.values():
            self.files.extend(writer.close())
        self._splits.clear()
