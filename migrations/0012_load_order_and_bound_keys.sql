CREATE TABLE `_sluice_keys` (
	`source` text NOT NULL,
	`key` text NOT NULL,
	`body_hash` text NOT NULL,
	`stream` text NOT NULL,
	`load_id` text NOT NULL,
	`conflict` integer DEFAULT false NOT NULL,
	PRIMARY KEY(`source`, `key`)
);
--> statement-breakpoint
CREATE TABLE `_sluice_sequences` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `_sluice_loads` ADD `key_conflicts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `_sluice_loads` ADD `load_seq` integer;