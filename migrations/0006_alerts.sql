CREATE TABLE `_sluice_alerts` (
	`kind` text NOT NULL,
	`subject` text NOT NULL,
	`status` text NOT NULL,
	`message` text NOT NULL,
	`opened_at` text NOT NULL,
	`resolved_at` text,
	`notifications` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`kind`, `subject`)
);
