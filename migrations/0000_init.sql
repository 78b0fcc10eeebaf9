CREATE TABLE `_sluice_dead_letters` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`queue` text NOT NULL,
	`message_id` text NOT NULL,
	`kind` text,
	`source` text,
	`stream` text,
	`key` text,
	`attempts` integer NOT NULL,
	`reason` text NOT NULL,
	`body` text NOT NULL,
	`received_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `_sluice_dead_letters_message_id_unique` ON `_sluice_dead_letters` (`message_id`);--> statement-breakpoint
CREATE INDEX `_sluice_dead_letters_stream_idx` ON `_sluice_dead_letters` (`source`,`stream`);--> statement-breakpoint
CREATE TABLE `_sluice_loads` (
	`load_id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`status` text NOT NULL,
	`records` integer NOT NULL,
	`inserted` integer NOT NULL,
	`duplicates` integer NOT NULL,
	`quarantined` integer DEFAULT 0 NOT NULL,
	`r2_key` text,
	`bytes` integer,
	`started_at` text NOT NULL,
	`finished_at` text,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `_sluice_loads_stream_idx` ON `_sluice_loads` (`source`,`stream`,`started_at`);--> statement-breakpoint
CREATE TABLE `_sluice_model_results` (
	`run_id` text NOT NULL,
	`unique_id` text NOT NULL,
	`status` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text NOT NULL,
	`execution_ms` integer NOT NULL,
	`rows_affected` integer,
	`message` text,
	PRIMARY KEY(`run_id`, `unique_id`)
);
--> statement-breakpoint
CREATE TABLE `_sluice_model_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`trigger` text NOT NULL,
	`cron` text,
	`status` text NOT NULL,
	`started_at` text NOT NULL,
	`finished_at` text,
	`elapsed_ms` integer,
	`args` text
);
--> statement-breakpoint
CREATE INDEX `_sluice_model_runs_started_idx` ON `_sluice_model_runs` (`started_at`);--> statement-breakpoint
CREATE TABLE `_sluice_quarantine` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`key` text NOT NULL,
	`load_id` text NOT NULL,
	`r2_key` text,
	`reason` text NOT NULL,
	`record` text NOT NULL,
	`status` text DEFAULT 'open' NOT NULL,
	`quarantined_at` text NOT NULL,
	`retried_at` text
);
--> statement-breakpoint
CREATE INDEX `_sluice_quarantine_stream_idx` ON `_sluice_quarantine` (`source`,`stream`,`status`);