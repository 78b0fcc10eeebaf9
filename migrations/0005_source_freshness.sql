CREATE TABLE `_sluice_source_freshness` (
	`source` text NOT NULL,
	`table_name` text NOT NULL,
	`status` text NOT NULL,
	`max_loaded_at` text,
	`age_seconds` integer,
	`warn_after_seconds` integer,
	`error_after_seconds` integer,
	`message` text,
	`checked_at` text NOT NULL,
	PRIMARY KEY(`source`, `table_name`)
);
