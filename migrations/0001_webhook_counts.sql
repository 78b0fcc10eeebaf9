CREATE TABLE `_sluice_webhook_counts` (
	`hour` text NOT NULL,
	`source` text NOT NULL,
	`stream` text NOT NULL,
	`outcome` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`hour`, `source`, `stream`, `outcome`, `reason`)
);
