CREATE TABLE `_sluice_incidents` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`monitor_id` text,
	`status` text NOT NULL,
	`message` text NOT NULL,
	`resolution` text,
	`value` real,
	`expected_low` real,
	`expected_high` real,
	`opened_at` text NOT NULL,
	`last_seen_at` text NOT NULL,
	`resolved_at` text,
	`acked_at` text,
	`muted_until` text,
	`notifications` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `_sluice_incidents_open_idx` ON `_sluice_incidents` (`kind`,`subject`) WHERE status = 'open';--> statement-breakpoint
CREATE INDEX `_sluice_incidents_listing_idx` ON `_sluice_incidents` (`status`,`opened_at`,`id`);--> statement-breakpoint
CREATE INDEX `_sluice_incidents_subject_idx` ON `_sluice_incidents` (`kind`,`subject`,`opened_at`);--> statement-breakpoint
-- Alerts become incidents: every alert, open or resolved, is kept as one.
INSERT INTO `_sluice_incidents` (`id`, `kind`, `subject`, `status`, `message`, `opened_at`, `last_seen_at`, `resolved_at`, `notifications`)
SELECT 'inc_' || lower(hex(randomblob(13))), `kind`, `subject`, `status`, `message`, `opened_at`, coalesce(`resolved_at`, `opened_at`), `resolved_at`, `notifications` FROM `_sluice_alerts`;--> statement-breakpoint
DROP TABLE `_sluice_alerts`;