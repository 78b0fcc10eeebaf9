CREATE TABLE `_sluice_table_checkpoints` (
	`table_name` text PRIMARY KEY NOT NULL,
	`load_seq` integer NOT NULL,
	`row_id` integer NOT NULL,
	`tick` text NOT NULL,
	`judged_until` text,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `_sluice_table_hours` (
	`table_name` text NOT NULL,
	`bucket_start` text NOT NULL,
	`column_name` text NOT NULL,
	`rows` integer NOT NULL,
	`nulls` integer NOT NULL,
	PRIMARY KEY(`table_name`, `bucket_start`, `column_name`)
);
--> statement-breakpoint
CREATE TABLE `_sluice_test_monitors` (
	`monitor_id` text PRIMARY KEY NOT NULL,
	`test_id` text NOT NULL,
	`kind` text NOT NULL,
	`model` text,
	`metric` text,
	`dimension` text,
	`last_run_at` text NOT NULL
);
