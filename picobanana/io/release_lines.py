"""One JSONL line of the Pico-Banana release → a validated record, or an InputError with the reason.

The hot path checks the handful of keys with `type(...) is str` (the release is ~400K lines and most are
fine); only a line that fails those checks goes through the pydantic model, whose errors give the reason.
Both paths accept and reject exactly the same lines: the model is the definition, the checks a shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import ValidationError

from picobanana.errors import InputError
from picobanana.io.pico_format import (
    Kind,
    MultiTurnRecord,
    PreferenceRecord,
    SftRecord,
    detect_kind,
    normalise_ref,
)
from picobanana.taxonomy import EditType, UnknownEditType, resolve_edit_type

MAX_TURNS = 10  # chains.n_turns CHECK; the release has 2–5
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class ReleaseEdit:
    """An sft or preference line: one edit, its chosen output and (preference) the rejected outputs."""

    line_no: int
    kind: Kind
    source_url: str
    instruction: str
    short_instruction: str
    output_ref: str  # normalised relative path (or URL) of the chosen image
    edit_type: EditType
    rejected_refs: tuple[str, ...]
    local_input: str | None  # absolute path of the source image given by `local_input_image`
    alias: str | None  # the spelling found, when it was an alias of edit_type.name


@dataclass(slots=True)
class ReleaseChain:
    """A multi-turn line: the source, then one prompt and one output image per turn."""

    line_no: int
    source_url: str
    prompts: list[str]
    turn_refs: list[str]  # normalised; the last one is `final_image`
    local_input: str | None

    kind = "multi-turn"
    alias = None  # multi-turn records have no edit_type


Record = ReleaseEdit | ReleaseChain


class RejectedLine(InputError):
    """A line that cannot be imported; `kind` is the record kind it looked like (None: not even an object)."""

    def __init__(self, reason: str, line_no: int, kind: Kind | None = None):
        super().__init__(reason, line_no)
        self.kind = kind


def kind_of(obj: dict) -> Kind:
    """`detect_kind`, plus: a record with only one of the two multi-turn keys is a broken multi-turn record
    (so its error names the missing multi-turn key rather than five missing sft keys)."""
    kind = detect_kind(obj)
    if kind == "sft" and ("files" in obj or "metadata_edit_turn_prompts" in obj):
        return "multi-turn"
    return kind


def parse_line(raw: bytes, line_no: int, *, forced_kind: Kind | None = None,
               base_dir: Path | None = None) -> Record:
    """Parse one non-blank line. Raises RejectedLine(reason, line_no, kind) for anything unusable."""
    if line_no == 1 and raw.startswith(_UTF8_BOM):
        raw = raw[3:]
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RejectedLine(_decode_reason(raw, exc), line_no) from None
    if type(obj) is not dict:
        raise RejectedLine(f"expected a JSON object, got {_json_type(obj)}", line_no)
    kind = kind_of(obj)
    if forced_kind is not None and kind != forced_kind:
        raise RejectedLine(f"{kind} record, but --kind {forced_kind} was given", line_no, kind)
    try:
        if kind == "multi-turn":
            return _chain(obj, line_no, base_dir)
        return _edit(obj, kind, line_no, base_dir)
    except InputError as exc:
        raise RejectedLine(exc.reason, line_no, kind) from None


def _edit(obj: dict, kind: Kind, line_no: int, base_dir: Path | None) -> ReleaseEdit:
    g = obj.get
    url, text, output, edit_type, summary = (g("open_image_input_url"), g("text"), g("output_image"),
                                              g("edit_type"), g("summarized_text"))
    rejected = g("rejected_images") if kind == "preference" else ()
    local = g("local_input_image")
    fast = (type(url) is str and type(text) is str and type(output) is str and type(edit_type) is str
            and type(summary) is str and (local is None or type(local) is str)
            and (kind == "sft"
                 or (type(rejected) is list and rejected and all(type(r) is str for r in rejected))))
    if not fast:
        record = _validate(SftRecord if kind == "sft" else PreferenceRecord, obj, line_no)
        url, text, output, edit_type, summary, local = (record.open_image_input_url, record.text,
                                                        record.output_image, record.edit_type,
                                                        record.summarized_text, record.local_input_image)
        rejected = getattr(record, "rejected_images", ())
    if not url:
        raise InputError("open_image_input_url is empty", line_no)
    if not output:
        raise InputError("output_image is empty", line_no)
    try:
        resolved, was_alias = resolve_edit_type(edit_type)
    except UnknownEditType as exc:
        raise InputError(str(exc), line_no) from None
    output_ref = normalise_ref(output)
    rejected_refs = tuple(map(normalise_ref, rejected)) if rejected else ()
    if rejected_refs:
        if not all(rejected_refs):
            raise InputError("rejected_images has an empty path", line_no)
        if len(set(rejected_refs)) != len(rejected_refs):
            raise InputError("rejected_images lists the same image twice", line_no)
        if output_ref in rejected_refs:
            raise InputError("rejected_images contains the output_image", line_no)
    return ReleaseEdit(line_no, kind, url, text, summary, output_ref, resolved, rejected_refs,
                       _local_path(local, base_dir) if local else None, edit_type if was_alias else None)


def _chain(obj: dict, line_no: int, base_dir: Path | None) -> ReleaseChain:
    record = _validate(MultiTurnRecord, obj, line_no)
    n = len(record.metadata_edit_turn_prompts)
    if n > MAX_TURNS:
        raise InputError(f"{n} turns; at most {MAX_TURNS} are supported", line_no)
    source = record.source_url
    if not source:
        raise InputError("original_input_image has an empty url", line_no)
    turn_refs = [normalise_ref(u) for u in record.turn_images()]
    if not all(turn_refs):
        raise InputError("files has an empty url", line_no)
    if len(set(turn_refs)) != n:
        raise InputError("files lists the same image for two turns", line_no)
    return ReleaseChain(line_no, source, list(record.metadata_edit_turn_prompts), turn_refs,
                        _local_path(record.local_input_image, base_dir))


def _local_path(value: str | None, base_dir: Path | None) -> str | None:
    """`local_input_image` is relative to the JSONL's folder unless absolute (the official script writes
    whatever path it was given)."""
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path)


def _validate(model: type, obj: dict, line_no: int):
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise InputError(validation_reason(exc), line_no) from None


def validation_reason(exc: ValidationError) -> str:
    """pydantic's errors as one short line: `missing key 'text'; 'edit_type' must be a string, not int`."""
    parts = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in error["loc"])
        kind = error["type"]
        if kind == "missing":
            parts.append(f"missing key '{loc}'")
        elif kind == "string_type":
            parts.append(f"'{loc}' must be a string, not {_json_type(error['input'])}")
        elif kind == "list_type":
            parts.append(f"'{loc}' must be a list, not {_json_type(error['input'])}")
        elif kind in ("model_type", "dict_type"):
            parts.append(f"'{loc}' must be an object, not {_json_type(error['input'])}")
        else:
            message = error["msg"].removeprefix("Value error, ")
            parts.append(f"'{loc}': {message}" if loc else message)
    return "; ".join(parts)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _decode_reason(raw: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at column {bad.start + 1}"
    return f"invalid JSON: {exc}"
