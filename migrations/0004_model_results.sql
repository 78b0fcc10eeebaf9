ALTER TABLE `_sluice_model_results` ADD `resource_type` text DEFAULT 'model' NOT NULL;--> statement-breakpoint
ALTER TABLE `_sluice_model_results` ADD `failures` integer;