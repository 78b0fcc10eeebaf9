ALTER TABLE `_sluice_quarantine` ADD `record_form` text;--> statement-breakpoint
ALTER TABLE `_sluice_quarantine` ADD `received_at` text;