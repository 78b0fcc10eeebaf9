CREATE TABLE `_sluice_columns` (
	`table_name` text NOT NULL,
	`field` text NOT NULL,
	`column_name` text NOT NULL,
	`load_id` text NOT NULL,
	PRIMARY KEY(`table_name`, `field`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `_sluice_columns_column_idx` ON `_sluice_columns` (`table_name`,`column_name`);