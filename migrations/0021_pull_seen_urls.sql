CREATE TABLE `_sluice_pull_seen_urls` (
	`run_id` text NOT NULL,
	`url_hash` text NOT NULL,
	`page` integer NOT NULL,
	PRIMARY KEY(`run_id`, `url_hash`)
);
--> statement-breakpoint
ALTER TABLE `_sluice_pull_runs` DROP COLUMN `seen`;