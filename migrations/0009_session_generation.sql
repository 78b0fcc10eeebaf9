CREATE TABLE `_sluice_session_generation` (
	`id` integer PRIMARY KEY NOT NULL,
	`generation` integer NOT NULL,
	`changed_at` text NOT NULL
);
