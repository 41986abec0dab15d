"""The workspace database schema, as an ordered list of sqlite-utils migrations.

Domain, in one picture:

    images ─┐ (content-addressed files: sha256 → images/ab/cd/<sha256>.<ext>)
            ├─ sources            a real photo (release URL or an ingested file)
            │    └─ edits         one requested change: source or parent attempt + edit type + turn
            │         └─ attempts up to 3 tries per edit: instructions, output image, status, backend
            │              ├─ judgments        the judge's 4 sub-scores (current), history kept
            │              └─ reviews          append-only human events → human_decisions (latest)
            ├─ chains             multi-turn sessions (edits with turn 1..N)
    policies / policy_activations  named, versioned weights + threshold; the latest activation is active
    jobs, import_files, import_errors  long work, resumable, with every rejected input line

The effective verdict of an attempt is *computed* (see verdicts.py): the latest human decision, else the
active policy applied to the current judgment, else what the release or the attempt status implies.

Rules: every table is STRICT; every mutable row carries `rev`, the store-wide revision of the transaction
that last wrote it, so the analytics mirror can copy only what changed.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("picobanana")

# Statuses an attempt can have. `ok` = an edited image exists and waits for (or has) a judgment;
# `rejected` = the release's own judge failed it; the others are typed failures of the editor.
ATTEMPT_STATUSES = (
    "pending",
    "running",
    "ok",
    "rejected",
    "no_image",
    "blocked",
    "api_error",
    "timeout",
    "unsupported",
    "invalid_input",
    "error",
)
ORIGINS = ("release", "pipeline", "ingest", "demo")
VERDICTS = ("keep", "fail")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


@migrations()
def m001_core(db: Database) -> None:
    db.executescript(
        f"""
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) STRICT;
        INSERT INTO meta (key, value) VALUES ('rev', '0');

        CREATE TABLE images (
            sha256 TEXT PRIMARY KEY,
            format TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            created_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
            params TEXT NOT NULL DEFAULT '{{}}',
            total INTEGER,
            done INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            message TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            heartbeat_at TEXT
        ) STRICT;

        CREATE TABLE import_files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            fingerprint TEXT NOT NULL UNIQUE,
            kind TEXT,
            size INTEGER NOT NULL,
            bytes_done INTEGER NOT NULL DEFAULT 0,
            lines_done INTEGER NOT NULL DEFAULT 0,
            imported INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            aliased INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted')),
            job_id INTEGER REFERENCES jobs(id),
            started_at TEXT NOT NULL,
            finished_at TEXT
        ) STRICT;

        CREATE TABLE import_errors (
            id INTEGER PRIMARY KEY,
            import_file_id INTEGER NOT NULL REFERENCES import_files(id),
            line_no INTEGER NOT NULL,
            reason TEXT NOT NULL,
            UNIQUE (import_file_id, line_no)
        ) STRICT;

        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            uri TEXT NOT NULL UNIQUE,
            image_sha256 TEXT REFERENCES images(sha256),
            origin TEXT NOT NULL CHECK (origin IN {_in(ORIGINS)}),
            license TEXT,
            variant TEXT,
            local_path TEXT,
            open_images_id TEXT,
            created_at TEXT NOT NULL,
            rev INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX sources_image ON sources(image_sha256);

        CREATE TABLE chains (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            n_turns INTEGER NOT NULL CHECK (n_turns BETWEEN 1 AND 10),
            origin TEXT NOT NULL CHECK (origin IN {_in(ORIGINS)}),
            job_id INTEGER REFERENCES jobs(id),
            import_file_id INTEGER REFERENCES import_files(id),
            import_line INTEGER,
            created_at TEXT NOT NULL,
            rev INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE edits (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            source_id INTEGER NOT NULL REFERENCES sources(id),
            parent_attempt_id INTEGER REFERENCES attempts(id),
            chain_id INTEGER REFERENCES chains(id),
            turn INTEGER NOT NULL DEFAULT 1 CHECK (turn >= 1),
            edit_type_id INTEGER,
            category_id INTEGER,
            origin TEXT NOT NULL CHECK (origin IN {_in(ORIGINS)}),
            job_id INTEGER REFERENCES jobs(id),
            created_at TEXT NOT NULL,
            rev INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX edits_source ON edits(source_id);
        CREATE INDEX edits_chain ON edits(chain_id, turn) WHERE chain_id IS NOT NULL;
        CREATE INDEX edits_parent ON edits(parent_attempt_id) WHERE parent_attempt_id IS NOT NULL;

        -- edit_type_id, category_id, turn and origin repeat the edit's immutable facts so that the
        -- browse indexes below can serve "category X, newest first" without a join.
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            edit_id INTEGER NOT NULL REFERENCES edits(id),
            attempt_no INTEGER NOT NULL CHECK (attempt_no >= 1),
            edit_type_id INTEGER,
            category_id INTEGER,
            turn INTEGER NOT NULL DEFAULT 1,
            origin TEXT NOT NULL CHECK (origin IN {_in(ORIGINS)}),
            status TEXT NOT NULL CHECK (status IN {_in(ATTEMPT_STATUSES)}),
            failure_reason TEXT,
            instruction TEXT,
            short_instruction TEXT,
            output_ref TEXT,
            output_sha256 TEXT REFERENCES images(sha256),
            backend TEXT,
            model TEXT,
            model_version TEXT,
            prompt_version TEXT,
            latency_ms REAL,
            cost_usd REAL,
            import_file_id INTEGER REFERENCES import_files(id),
            import_line INTEGER,
            created_at TEXT NOT NULL,
            rev INTEGER NOT NULL,
            UNIQUE (edit_id, attempt_no)
        ) STRICT;
        CREATE INDEX attempts_category ON attempts(category_id, id);
        CREATE INDEX attempts_edit_type ON attempts(edit_type_id, id);
        CREATE INDEX attempts_status ON attempts(status, id);
        CREATE INDEX attempts_rev ON attempts(rev);
        CREATE INDEX attempts_output ON attempts(output_sha256) WHERE output_sha256 IS NOT NULL;
        CREATE INDEX attempts_output_ref ON attempts(output_ref) WHERE output_ref IS NOT NULL;

        -- The current judgment of an attempt. Re-judging updates the row; the trigger keeps the old one.
        CREATE TABLE judgments (
            attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
            category_id INTEGER,
            compliance REAL NOT NULL CHECK (compliance BETWEEN 0 AND 1),
            seamlessness REAL NOT NULL CHECK (seamlessness BETWEEN 0 AND 1),
            preservation REAL NOT NULL CHECK (preservation BETWEEN 0 AND 1),
            quality REAL NOT NULL CHECK (quality BETWEEN 0 AND 1),
            judge_overall REAL CHECK (judge_overall BETWEEN 0 AND 1),
            rationale TEXT,
            judge_backend TEXT,
            judge_model TEXT,
            judge_model_version TEXT,
            prompt_version TEXT,
            created_at TEXT NOT NULL,
            rev INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX judgments_rev ON judgments(rev);

        CREATE TABLE judgments_history (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL,
            compliance REAL NOT NULL,
            seamlessness REAL NOT NULL,
            preservation REAL NOT NULL,
            quality REAL NOT NULL,
            judge_overall REAL,
            rationale TEXT,
            judge_model TEXT,
            created_at TEXT NOT NULL,
            replaced_at TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER judgments_keep_history BEFORE UPDATE ON judgments BEGIN
            INSERT INTO judgments_history (attempt_id, compliance, seamlessness, preservation, quality,
                judge_overall, rationale, judge_model, created_at, replaced_at)
            VALUES (OLD.attempt_id, OLD.compliance, OLD.seamlessness, OLD.preservation, OLD.quality,
                OLD.judge_overall, OLD.rationale, OLD.judge_model, OLD.created_at,
                strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
        END;

        CREATE TABLE policies (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            w_compliance REAL NOT NULL CHECK (w_compliance >= 0),
            w_seamlessness REAL NOT NULL CHECK (w_seamlessness >= 0),
            w_preservation REAL NOT NULL CHECK (w_preservation >= 0),
            w_quality REAL NOT NULL CHECK (w_quality >= 0),
            threshold REAL NOT NULL CHECK (threshold BETWEEN 0 AND 1),
            per_category TEXT NOT NULL DEFAULT '{{}}',
            note TEXT,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (name, version)
        ) STRICT;

        CREATE TABLE policy_activations (
            id INTEGER PRIMARY KEY,
            policy_id INTEGER NOT NULL REFERENCES policies(id),
            activated_by TEXT NOT NULL,
            activated_at TEXT NOT NULL
        ) STRICT;

        -- Human decisions: an append-only event log. new_verdict NULL = "clear my decision, let the policy decide".
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            curator TEXT NOT NULL,
            created_at TEXT NOT NULL,
            old_verdict TEXT CHECK (old_verdict IN {_in(VERDICTS + ("pending",))}),
            new_verdict TEXT CHECK (new_verdict IN {_in(VERDICTS)}),
            reason TEXT,
            batch_id TEXT
        ) STRICT;
        CREATE INDEX reviews_attempt ON reviews(attempt_id, id);
        CREATE INDEX reviews_batch ON reviews(batch_id) WHERE batch_id IS NOT NULL;
        CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews are append-only');
        END;
        CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews BEGIN
            SELECT RAISE(ABORT, 'reviews are append-only');
        END;

        -- The latest human decision per attempt: a projection of `reviews`, maintained by trigger only.
        CREATE TABLE human_decisions (
            attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
            review_id INTEGER NOT NULL REFERENCES reviews(id),
            verdict TEXT NOT NULL CHECK (verdict IN {_in(VERDICTS)}),
            curator TEXT NOT NULL,
            decided_at TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER reviews_project AFTER INSERT ON reviews BEGIN
            DELETE FROM human_decisions WHERE attempt_id = NEW.attempt_id AND NEW.new_verdict IS NULL;
            INSERT INTO human_decisions (attempt_id, review_id, verdict, curator, decided_at)
                SELECT NEW.attempt_id, NEW.id, NEW.new_verdict, NEW.curator, NEW.created_at
                WHERE NEW.new_verdict IS NOT NULL
                ON CONFLICT (attempt_id) DO UPDATE SET review_id = excluded.review_id,
                    verdict = excluded.verdict, curator = excluded.curator, decided_at = excluded.decided_at;
        END;
        """
    )


@migrations()
def m002_import_counts(db: Database) -> None:
    # The importer's full counters (per record kind, aliases, blank lines) as JSON, committed with each batch
    # so that a resumed import reports the whole file, not just the part read since the restart.
    db.execute("ALTER TABLE import_files ADD COLUMN counts TEXT NOT NULL DEFAULT '{}'")


@migrations()
def m003_rev_indexes(db: Database) -> None:
    # The analytics mirror copies rows with rev > its last revision; without these, every refresh scans the
    # whole edits and sources tables (~100 ms at 1M attempts). attempts and judgments have theirs since m001.
    db.executescript("""
        CREATE INDEX edits_rev ON edits(rev);
        CREATE INDEX sources_rev ON sources(rev);
        CREATE INDEX chains_rev ON chains(rev);
    """)


@migrations()
def m004_pipeline_skips(db: Database) -> None:
    # The pipeline records an edit it did not attempt (the image is not eligible for its type) with the
    # writer's reason, and a job's final counts (kept / failed / skipped by reason, cost, seconds) as JSON.
    db.executescript("""
        ALTER TABLE edits ADD COLUMN skip_reason TEXT;
        ALTER TABLE jobs ADD COLUMN summary TEXT;
    """)


@migrations()
def m005_instruction_search(db: Database) -> None:
    # Text search over instructions for the studio's Browse: an external-content FTS5 index (the text stays
    # only in `attempts`; the index holds tokens). Tokenizing on insert would cost imports a third of their
    # speed, so new attempts are indexed by the next search instead: meta 'attempts_text_upto' is the highest
    # attempt id indexed (ids only grow), and store/text_search.py's sync_instruction_index catches up from it.
    # Changing or deleting the text of an attempt that is already indexed updates the index at once, because
    # FTS5 needs the old text to remove it.
    # attempts_facets lets Browse count (and fetch) the attempts of a rare origin / turn / backend / model /
    # status cheaply, instead of walking the whole score order looking for them (see store/paging.py).
    db.executescript("""
        CREATE INDEX attempts_facets ON attempts(origin, turn, backend, model, status);
        CREATE VIRTUAL TABLE attempts_text USING fts5(
            instruction, short_instruction, content='attempts', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2');
        INSERT INTO attempts_text (attempts_text) VALUES ('rebuild');
        INSERT INTO meta (key, value) SELECT 'attempts_text_upto', CAST(COALESCE(MAX(id), 0) AS TEXT) FROM attempts;
        CREATE TRIGGER attempts_text_update AFTER UPDATE OF instruction, short_instruction ON attempts
            WHEN OLD.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'attempts_text_upto') BEGIN
            INSERT INTO attempts_text (attempts_text, rowid, instruction, short_instruction)
                SELECT 'delete', OLD.id, OLD.instruction, OLD.short_instruction
                WHERE OLD.instruction IS NOT NULL OR OLD.short_instruction IS NOT NULL;
            INSERT INTO attempts_text (rowid, instruction, short_instruction)
                SELECT NEW.id, NEW.instruction, NEW.short_instruction
                WHERE NEW.instruction IS NOT NULL OR NEW.short_instruction IS NOT NULL;
        END;
        CREATE TRIGGER attempts_text_delete AFTER DELETE ON attempts
            WHEN (OLD.instruction IS NOT NULL OR OLD.short_instruction IS NOT NULL)
             AND OLD.id <= (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'attempts_text_upto') BEGIN
            INSERT INTO attempts_text (attempts_text, rowid, instruction, short_instruction)
                VALUES ('delete', OLD.id, OLD.instruction, OLD.short_instruction);
        END;
    """)


@migrations()
def m006_curators(db: Database) -> None:
    # Studio accounts. Only a salted scrypt hash is stored ("scrypt$n$r$p$salt$hash", see
    # curation/accounts.py); a disabled account keeps its row so its name stays attached to its past events.
    # Jobs get the name of whoever started them, like reviews and policies already have.
    db.executescript("""
        CREATE TABLE curators (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
            rev INTEGER NOT NULL DEFAULT 0
        ) STRICT;
    """)
    db.execute("ALTER TABLE jobs ADD COLUMN created_by TEXT")


@migrations()
def m007_gemini_batches(db: Database) -> None:
    # Each Batch-mode request group a job submitted: a restarted job finds its batches here by name and polls
    # them instead of paying for them twice. `items` maps request key (the attempt key) → attempt id + hint.
    db.executescript("""
        CREATE TABLE gemini_batches (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            role TEXT NOT NULL CHECK (role IN ('editor', 'judge')),
            name TEXT NOT NULL UNIQUE,
            state TEXT NOT NULL CHECK (state IN ('submitted', 'ingested', 'failed')),
            service_state TEXT,
            items TEXT NOT NULL,
            n_requests INTEGER NOT NULL,
            output TEXT,
            cost_usd REAL NOT NULL DEFAULT 0,
            error TEXT,
            submitted_at TEXT NOT NULL,
            finished_at TEXT
        ) STRICT;
        CREATE INDEX gemini_batches_job ON gemini_batches(job_id, state);
    """)


def apply_migrations(db: Database) -> None:
    migrations.apply(db)
    db.execute(f"PRAGMA user_version = {schema_version()}")


def schema_version() -> int:
    """The schema version this code writes: the number of migrations it knows."""
    return len(migrations._migrations)
