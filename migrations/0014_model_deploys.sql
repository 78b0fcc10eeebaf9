CREATE TABLE `_sluice_model_deploys` (
	`hash` text PRIMARY KEY NOT NULL,
	`nodes` text NOT NULL,
	`first_run_at` text NOT NULL,
	`last_run_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `_sluice_model_deploys_last_run_idx` ON `_sluice_model_deploys` (`last_run_at`);