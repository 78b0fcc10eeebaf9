/**
 * Sluice's own tables, all prefixed `_sluice_`. This file is the source of truth: `npm run
 * db:generate` turns changes here into a migration under migrations/, which wrangler applies.
 * Timestamps are ISO-8601 UTC text so that SQLite's date functions and humans read them alike.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { AnomalyTestName, BucketAnomaly } from "../quality/anomaly-tests.ts";

/** One row per (batch, stream) load: the ledger that says whether a load completed. */
export const loads = sqliteTable(
  "_sluice_loads",
  {
    loadId: text("load_id").primaryKey(),
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    status: text("status", { enum: ["loaded", "failed"] }).notNull(),
    /** What started the load: a delivery from the queue, a replay of raw objects, or a redrive. */
    kind: text("kind", { enum: ["ingest", "replay", "redrive"] })
      .notNull()
      .default("ingest"),
    /** Records in the batch for this stream. */
    records: integer("records").notNull(),
    /** Rows that were new to the raw table. */
    inserted: integer("inserted").notNull(),
    /** Records whose key was already loaded (redeliveries, provider retries). */
    duplicates: integer("duplicates").notNull(),
    quarantined: integer("quarantined").notNull().default(0),
    /** Records a stream's filter or map dropped on purpose. */
    filtered: integer("filtered").notNull().default(0),
    /**
     * Records whose key, taken from outside the signature, was first loaded with another body:
     * each loaded as its own row under `<key>#<body hash>`. Also counted in `inserted` or `quarantined`.
     */
    keyConflicts: integer("key_conflicts").notNull().default(0),
    /** The load's place in commit order (see `sequences`); its rows carry it as `_sluice_load_seq`. */
    loadSeq: integer("load_seq"),
    r2Key: text("r2_key"),
    bytes: integer("bytes"),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at"),
    error: text("error"),
  },
  (t) => [index("_sluice_loads_stream_idx").on(t.source, t.stream, t.startedAt)],
);

/** One row per invocation of the model runner. */
export const modelRuns = sqliteTable(
  "_sluice_model_runs",
  {
    runId: text("run_id").primaryKey(),
    trigger: text("trigger", { enum: ["cron", "manual"] }).notNull(),
    cron: text("cron"),
    status: text("status", { enum: ["running", "success", "error"] }).notNull(),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at"),
    elapsedMs: integer("elapsed_ms"),
    /** The selection and flags the run was started with, as JSON (dbt's `args`). */
    args: text("args", { mode: "json" }).$type<Record<string, unknown>>(),
  },
  (t) => [index("_sluice_model_runs_started_idx").on(t.startedAt)],
);

/** Per-node results of a run, after dbt's run_results.json. */
export const modelResults = sqliteTable(
  "_sluice_model_results",
  {
    runId: text("run_id").notNull(),
    uniqueId: text("unique_id").notNull(),
    /** `operation` for an on-run-start or on-run-end hook, as in dbt's run_results. */
    resourceType: text("resource_type", { enum: ["model", "seed", "test", "snapshot", "unit_test", "operation"] })
      .notNull()
      .default("model"),
    /** dbt's statuses: success, error, skipped for models; pass, fail, warn, error, skipped for tests. */
    status: text("status", { enum: ["success", "error", "skipped", "pass", "fail", "warn"] }).notNull(),
    /** Rows a test returned (its failures). */
    failures: integer("failures"),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at").notNull(),
    executionMs: integer("execution_ms").notNull(),
    rowsAffected: integer("rows_affected"),
    message: text("message"),
    /** The relation a test stored its failing rows in (store_failures), as dbt's run_results name it. */
    relationName: text("relation_name"),
    /** An anomaly test's flagged buckets: start, end, value, expected low and high, z. */
    anomalies: text("anomalies", { mode: "json" }).$type<BucketAnomaly[]>(),
  },
  (t) => [
    primaryKey({ columns: [t.runId, t.uniqueId] }),
    // A node's last successful build, read by reports and SLAs, without scanning every run's results.
    index("_sluice_model_results_last_idx").on(t.uniqueId, t.status, t.finishedAt),
  ],
);

/**
 * The model manifests this Worker has run, one row per distinct manifest: what `state:` selection
 * compares with. `nodes` maps each unique id to digests of its body and configs and its relation.
 */
export const modelDeploys = sqliteTable(
  "_sluice_model_deploys",
  {
    hash: text("hash").primaryKey(),
    nodes: text("nodes", { mode: "json" }).$type<Record<string, [string, string, string]>>().notNull(),
    firstRunAt: text("first_run_at").notNull(),
    lastRunAt: text("last_run_at").notNull(),
  },
  (t) => [index("_sluice_model_deploys_last_run_idx").on(t.lastRunAt)],
);

/** Records that could not be loaded as typed rows, kept with the reason so they can be redriven. */
export const quarantine = sqliteTable(
  "_sluice_quarantine",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    key: text("key").notNull(),
    loadId: text("load_id").notNull(),
    r2Key: text("r2_key"),
    /** 1-based line of the record in its raw-zone object. */
    line: integer("line"),
    reason: text("reason").notNull(),
    /** The record as JSON, never with a field the stream redacts or hashes in clear (see `recordForm`). */
    record: text("record").notNull(),
    /**
     * What was applied to `record`: `redacted` (the stream's redact and hash), `transformed` (all of
     * its transforms, `redactRaw`), or NULL (nothing: the stream had neither, or the row predates this).
     * A redrive carries it on, so a hash is never hashed again.
     */
    recordForm: text("record_form", { enum: ["redacted", "transformed"] }),
    /** When Sluice first accepted the record, which a redrive keeps; NULL for rows that predate it. */
    receivedAt: text("received_at"),
    status: text("status", { enum: ["open", "retried"] })
      .notNull()
      .default("open"),
    quarantinedAt: text("quarantined_at").notNull(),
    retriedAt: text("retried_at"),
  },
  (t) => [
    index("_sluice_quarantine_stream_idx").on(t.source, t.stream, t.status),
    // A redelivered record that fails again adds no second open row: one record, one row.
    uniqueIndex("_sluice_quarantine_open_key_idx").on(t.source, t.stream, t.key).where(sql`${t.status} = 'open'`),
    index("_sluice_quarantine_load_idx").on(t.loadId),
  ],
);

/** Messages that exhausted their retries, as read back from the dead-letter queues. */
export const deadLetters = sqliteTable(
  "_sluice_dead_letters",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    queue: text("queue").notNull(),
    messageId: text("message_id").notNull().unique(),
    kind: text("kind"),
    source: text("source"),
    stream: text("stream"),
    key: text("key"),
    attempts: integer("attempts").notNull(),
    reason: text("reason").notNull(),
    body: text("body").notNull(),
    status: text("status", { enum: ["open", "redriven"] })
      .notNull()
      .default("open"),
    redrivenAt: text("redriven_at"),
    receivedAt: text("received_at").notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
  },
  (t) => [index("_sluice_dead_letters_stream_idx").on(t.source, t.stream)],
);

export type Load = typeof loads.$inferSelect;
export type ModelRun = typeof modelRuns.$inferSelect;
export type ModelResult = typeof modelResults.$inferSelect;
export type QuarantineRow = typeof quarantine.$inferSelect;
export type DeadLetter = typeof deadLetters.$inferSelect;

/**
 * Webhook deliveries counted per hour, source, stream, outcome and reason, so operators can see
 * what was accepted and what was rejected and why. Written in the background, off the hot path.
 */
export const webhookCounts = sqliteTable(
  "_sluice_webhook_counts",
  {
    /** UTC hour, `YYYY-MM-DDTHH`. */
    hour: text("hour").notNull(),
    /** The source name, or `(unknown)` for a path that names no source. */
    source: text("source").notNull(),
    /** The stream an accepted delivery went to; empty for rejections. */
    stream: text("stream").notNull(),
    outcome: text("outcome", { enum: ["accepted", "rejected", "handshake"] }).notNull(),
    /** The error code of a rejection; empty otherwise. */
    reason: text("reason").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.hour, t.source, t.stream, t.outcome, t.reason] }),
    // A source's hours, for its rejection-rate monitor (ops/monitor-rejections.ts), without reading the other sources'.
    index("_sluice_webhook_counts_source_idx").on(t.source, t.hour),
  ],
);

export type WebhookCount = typeof webhookCounts.$inferSelect;

/** Every change to a stream's table shape, after dlt's schema versions. */
export const schemaVersions = sqliteTable(
  "_sluice_schema_versions",
  {
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    version: integer("version").notNull(),
    /** SHA-256 of the column list; also in the raw-zone objects' metadata. */
    hash: text("hash").notNull(),
    /** The columns after the change: `[{ name, type }]`. */
    columns: text("columns", { mode: "json" }).$type<{ name: string; type: string }[]>().notNull(),
    /** What changed, e.g. `added amount (integer); added amount__v_text (text)`. */
    change: text("change").notNull(),
    loadId: text("load_id"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.stream, t.version] })],
);

/**
 * Which column of a raw table each record field lands in, so that a field keeps its column for
 * the life of the table, whatever else a record holds. Written in the load's D1 batch when a load
 * first gives a field a column; read with the table's columns.
 */
export const fieldColumns = sqliteTable(
  "_sluice_columns",
  {
    /** The stream's table, `raw_<source>__<stream>` (a replace stream's staging table shares its map). */
    tableName: text("table_name").notNull(),
    /** The field's path of keys as a JSON Pointer, e.g. `/customer/Name`. */
    field: text("field").notNull(),
    columnName: text("column_name").notNull(),
    loadId: text("load_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tableName, t.field] }), uniqueIndex("_sluice_columns_column_idx").on(t.tableName, t.columnName)],
);

/**
 * The last error of a queue message that failed, so that when it reaches the dead-letter queue
 * its reason can be recorded with it. Written on a best-effort basis.
 */
export const messageErrors = sqliteTable("_sluice_message_errors", {
  messageId: text("message_id").primaryKey(),
  queue: text("queue").notNull(),
  attempts: integer("attempts").notNull(),
  error: text("error").notNull(),
  at: text("at").notNull(),
});

/** Parquet files written to the lake, per table and day, so compaction rewrites only what changed. */
export const lakePartitions = sqliteTable(
  "_sluice_lake_partitions",
  {
    tableName: text("table_name").notNull(),
    day: text("day").notNull(),
    parts: integer("parts").notNull(),
    rows: integer("rows").notNull(),
    /** The newest `_sluice_load_id` in the partition when it was written. */
    lastLoadId: text("last_load_id").notNull(),
    compactedAt: text("compacted_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tableName, t.day] })],
);

export type SchemaVersion = typeof schemaVersions.$inferSelect;
export type LakePartition = typeof lakePartitions.$inferSelect;

/** One row per pull run of a REST resource: progress, outcome, and where to resume. */
export const pullRuns = sqliteTable(
  "_sluice_pull_runs",
  {
    runId: text("run_id").primaryKey(),
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    trigger: text("trigger", { enum: ["cron", "manual", "resume"] }).notNull(),
    status: text("status", { enum: ["running", "completed", "failed"] }).notNull(),
    pages: integer("pages").notNull().default(0),
    records: integer("records").notNull().default(0),
    /** The incremental value sent on the first page (`since`), after the lookback. */
    since: text("since"),
    /** The highest cursor value seen so far; becomes the stream's cursor only on completion. */
    cursorMax: text("cursor_max"),
    /** The page task to fetch next (JSON), so a failed run resumes where it stopped. */
    nextPage: text("next_page", { mode: "json" }).$type<Record<string, unknown>>(),
    error: text("error"),
    startedAt: text("started_at").notNull(),
    finishedAt: text("finished_at"),
    lastRequestAt: text("last_request_at"),
  },
  (t) => [index("_sluice_pull_runs_stream_idx").on(t.source, t.stream, t.startedAt)],
);

/**
 * The URLs a running pull run has fetched, hashed, one row a page: what stops a paginator that
 * loops back, and what counts the run's pages against `maxPagesPerRun`. Written in the page's
 * checkpoint transaction; deleted when the run ends (a resumed run is a new run, with a fresh count).
 */
export const pullSeenUrls = sqliteTable(
  "_sluice_pull_seen_urls",
  {
    runId: text("run_id").notNull(),
    urlHash: text("url_hash").notNull(),
    page: integer("page").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.urlHash] })],
);

/** The committed incremental cursor of each pulled stream. */
export const pullState = sqliteTable(
  "_sluice_pull_state",
  {
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    cursor: text("cursor"),
    runId: text("run_id").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.stream] })],
);

/** At most one active run per stream: the run that holds the lease until it expires. */
export const pullLeases = sqliteTable(
  "_sluice_pull_leases",
  {
    source: text("source").notNull(),
    stream: text("stream").notNull(),
    runId: text("run_id").notNull(),
    expiresAt: text("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.stream] })],
);

export type PullRun = typeof pullRuns.$inferSelect;

/** The latest freshness check of each source table, after `dbt source freshness`. */
export const sourceFreshness = sqliteTable(
  "_sluice_source_freshness",
  {
    source: text("source").notNull(),
    table: text("table_name").notNull(),
    status: text("status", { enum: ["pass", "warn", "error", "runtime error"] }).notNull(),
    maxLoadedAt: text("max_loaded_at"),
    ageSeconds: integer("age_seconds"),
    warnAfterSeconds: integer("warn_after_seconds"),
    errorAfterSeconds: integer("error_after_seconds"),
    message: text("message"),
    checkedAt: text("checked_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.source, t.table] })],
);

export type SourceFreshness = typeof sourceFreshness.$inferSelect;

/** What an incident can be about: every alert kind Sluice raises. */
export const incidentKinds = [
  "test_failed",
  "freshness_error",
  "load_failed",
  "dead_letter",
  "pull_failed",
  "key_conflict",
  "anomaly",
  "sla",
] as const;

/**
 * Incidents (see ops/incidents.ts): one row each time a condition opens, kept after it resolves,
 * so the history stays. At most one incident per kind and subject is open at a time. A mute
 * silences notifications until its time, and is carried to the subject's next incident while it lasts.
 */
export const incidents = sqliteTable(
  "_sluice_incidents",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: incidentKinds }).notNull(),
    /** What the incident is about: a test's unique id, `source/stream`, a monitor id, `model:<id>`. */
    subject: text("subject").notNull(),
    /** The monitor whose chart shows it, for anomalies and anything else that has one. */
    monitorId: text("monitor_id"),
    status: text("status", { enum: ["open", "resolved"] }).notNull(),
    /** What went wrong, as last seen while open. */
    message: text("message").notNull(),
    /** Why it resolved. */
    resolution: text("resolution"),
    value: real("value"),
    expectedLow: real("expected_low"),
    expectedHigh: real("expected_high"),
    openedAt: text("opened_at").notNull(),
    lastSeenAt: text("last_seen_at").notNull(),
    resolvedAt: text("resolved_at"),
    ackedAt: text("acked_at"),
    mutedUntil: text("muted_until"),
    /** Notifications posted for this incident (one when it opens, one when it resolves, none while muted). */
    notifications: integer("notifications").notNull().default(0),
  },
  (t) => [
    uniqueIndex("_sluice_incidents_open_idx").on(t.kind, t.subject).where(sql`status = 'open'`),
    index("_sluice_incidents_listing_idx").on(t.status, t.openedAt, t.id),
    index("_sluice_incidents_subject_idx").on(t.kind, t.subject, t.openedAt),
  ],
);

export type Incident = typeof incidents.$inferSelect;
export type IncidentKind = (typeof incidentKinds)[number];

/**
 * Per-minute counter rollups, written by the code paths themselves (see ops/rollups.ts) and
 * summed by `/metrics`. `labels` is the label set as JSON; minute `0000-00-00T00:00` holds
 * every minute older than an hour, and the history from before rollups existed.
 */
export const metricMinutes = sqliteTable(
  "_sluice_metric_minutes",
  {
    minute: text("minute").notNull(),
    metric: text("metric").notNull(),
    labels: text("labels").notNull(),
    value: real("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.metric, t.labels] })],
);

/**
 * The dashboard's session generation, one row (id 1). Every session cookie is signed over the
 * generation it was issued in; "sign out everywhere" adds one, which revokes every cookie
 * issued before, wherever it is. No row is generation 0.
 */
export const sessionGeneration = sqliteTable("_sluice_session_generation", {
  id: integer("id").primaryKey(),
  generation: integer("generation").notNull(),
  changedAt: text("changed_at").notNull(),
});

/**
 * Counters that grow in commit order, whichever isolate commits: a load bumps `load` inside its
 * own D1 batch (one transaction), so a later commit always gets a larger number.
 */
export const sequences = sqliteTable("_sluice_sequences", {
  name: text("name").primaryKey(),
  value: integer("value").notNull(),
});

/**
 * Record keys taken from outside a delivery's signature (GitHub and Shopify delivery ids, generic
 * key headers), bound to the SHA-256 of the body first delivered under them, per source: a later
 * delivery is a re-delivery only with the same key and the same body. A different body is loaded
 * under `<key>#<first 16 hex of its hash>`, which is registered here too, with `conflict` set.
 */
export const boundKeys = sqliteTable(
  "_sluice_keys",
  {
    source: text("source").notNull(),
    key: text("key").notNull(),
    bodyHash: text("body_hash").notNull(),
    /** The stream the body was first routed to: the same body routed elsewhere is a re-delivery. */
    stream: text("stream").notNull(),
    loadId: text("load_id").notNull(),
    conflict: integer("conflict", { mode: "boolean" }).notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.source, t.key] })],
);

/**
 * Every bucket a monitor judged (see ops/monitors.ts, table-monitors.ts, test-monitors.ts): one row per monitor and bucket
 * start, rewritten if the bucket is judged again. The expected range and z are null while the
 * history is too short for statistics.
 */
export const monitorBuckets = sqliteTable(
  "_sluice_monitor_buckets",
  {
    /**
     * `stream:<source>.<stream>:<kind>` (volume, quarantine_rate, freshness, schema), `source:<source>:rejection_rate`,
     * `table:<table>.<column>:null_rate`, `test:<unique_id>[:<metric or dimension value>]`.
     */
    monitorId: text("monitor_id").notNull(),
    bucketStart: text("bucket_start").notNull(),
    bucketEnd: text("bucket_end").notNull(),
    value: real("value").notNull(),
    /**
     * What the value was measured over, which later hours train on: the records loaded (volume), loaded +
     * quarantined (quarantine rate), deliveries (rejection rate), loads (freshness); for schema, the
     * stream's schema version at the bucket's end, where the next hour's changes start.
     */
    rows: integer("rows").notNull(),
    expectedLow: real("expected_low"),
    expectedHigh: real("expected_high"),
    z: real("z"),
    anomalous: integer("anomalous", { mode: "boolean" }).notNull(),
    /** What the value stands for, where a number cannot say it: for schema, the columns added. */
    detail: text("detail"),
    judgedAt: text("judged_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.monitorId, t.bucketStart] }),
    index("_sluice_monitor_buckets_anomalous_idx").on(t.anomalous, t.bucketStart, t.monitorId),
  ],
);

export type MonitorBucket = typeof monitorBuckets.$inferSelect;

/**
 * How far the table monitors (ops/table-monitors.ts) have read each typed table: the last row
 * counted, by load order then rowid, and the hours judged. A tick adds its counts only if it is
 * still the one that moved the checkpoint (`tick`), so two overlapping ticks never count a row twice.
 */
export const tableCheckpoints = sqliteTable("_sluice_table_checkpoints", {
  tableName: text("table_name").primaryKey(),
  loadSeq: integer("load_seq").notNull(),
  rowId: integer("row_id").notNull(),
  tick: text("tick").notNull(),
  /** Hours starting before this are judged; null until the first judgement (which backfills). */
  judgedUntil: text("judged_until"),
  updatedAt: text("updated_at").notNull(),
});

/**
 * Rows and nulls per column of each typed table, per hour its loads started in: summed over the
 * ticks that read them, so an hour read in several passes is one bucket. Kept for the model's
 * longest training window; the null-rate monitors train on them.
 */
export const tableHours = sqliteTable(
  "_sluice_table_hours",
  {
    tableName: text("table_name").notNull(),
    bucketStart: text("bucket_start").notNull(),
    columnName: text("column_name").notNull(),
    rows: integer("rows").notNull(),
    nulls: integer("nulls").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tableName, t.bucketStart, t.columnName] })],
);

/**
 * The monitors anomaly tests made (ops/test-monitors.ts): one per test, or per column monitor or
 * dimension value, with what it watches. Their judged buckets are in `_sluice_monitor_buckets`.
 */
export const testMonitors = sqliteTable("_sluice_test_monitors", {
  /** `test:<unique_id>`, or `test:<unique_id>:<metric>` / `test:<unique_id>:<dimension value>`. */
  monitorId: text("monitor_id").primaryKey(),
  testId: text("test_id").notNull(),
  kind: text("kind").$type<AnomalyTestName>().notNull(),
  /** The model, seed or source table the test is attached to. */
  model: text("model"),
  metric: text("metric"),
  dimension: text("dimension"),
  lastRunAt: text("last_run_at").notNull(),
});

export type TestMonitorRow = typeof testMonitors.$inferSelect;
