CREATE TABLE `_sluice_monitor_buckets` (
	`monitor_id` text NOT NULL,
	`bucket_start` text NOT NULL,
	`bucket_end` text NOT NULL,
	`value` real NOT NULL,
	`rows` integer NOT NULL,
	`expected_low` real,
	`expected_high` real,
	`z` real,
	`anomalous` integer NOT NULL,
	`judged_at` text NOT NULL,
	PRIMARY KEY(`monitor_id`, `bucket_start`)
);
--> statement-breakpoint
CREATE INDEX `_sluice_monitor_buckets_anomalous_idx` ON `_sluice_monitor_buckets` (`anomalous`,`bucket_start`,`monitor_id`);