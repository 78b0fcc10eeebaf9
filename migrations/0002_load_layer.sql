CREATE TABLE `_sluice_lake_partitions` (
	`table_name` text NOT NULL,
	`day` text NOT NULL,
	`parts` integer NOT NULL,
	`rows` integer NOT NULL,
	`last_load_id` text NOT NULL,
	`compacted_at` text NOT NULL,
	PRIMARY KEY(`table_name`, `day`)
);
--> statement-breakpoint
CREATE TABLE `_sluice_message_errors` (
	`message_id` text PRIMARY KEY NOT NULL,
	`queue` text NOT NULL,
	`attempts` integer NOT NULL,
	`error` text NOT NULL,
	`at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `_sluice_schema_versions` (
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`version` integer NOT NULL,
	`hash` text NOT NULL,
	`columns` text NOT NULL,
	`change` text NOT NULL,
	`load_id` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`source`, `stream`, `version`)
);
--> statement-breakpoint
ALTER TABLE `_sluice_dead_letters` ADD `status` text DEFAULT 'open' NOT NULL;--> statement-breakpoint
ALTER TABLE `_sluice_dead_letters` ADD `redriven_at` text;--> statement-breakpoint
ALTER TABLE `_sluice_loads` ADD `kind` text DEFAULT 'ingest' NOT NULL;--> statement-breakpoint
ALTER TABLE `_sluice_loads` ADD `filtered` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `_sluice_quarantine` ADD `line` integer;