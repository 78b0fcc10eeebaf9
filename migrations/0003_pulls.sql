CREATE TABLE `_sluice_pull_leases` (
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`run_id` text NOT NULL,
	`expires_at` text NOT NULL,
	PRIMARY KEY(`source`, `stream`)
);
--> statement-breakpoint
CREATE TABLE `_sluice_pull_runs` (
	`run_id` text PRIMARY KEY NOT NULL,
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`trigger` text NOT NULL,
	`status` text NOT NULL,
	`pages` integer DEFAULT 0 NOT NULL,
	`records` integer DEFAULT 0 NOT NULL,
	`since` text,
	`cursor_max` text,
	`next_page` text,
	`seen` text DEFAULT '[]' NOT NULL,
	`error` text,
	`started_at` text NOT NULL,
	`finished_at` text,
	`last_request_at` text
);
--> statement-breakpoint
CREATE INDEX `_sluice_pull_runs_stream_idx` ON `_sluice_pull_runs` (`source`,`stream`,`started_at`);--> statement-breakpoint
CREATE TABLE `_sluice_pull_state` (
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`cursor` text,
	`run_id` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`source`, `stream`)
);
