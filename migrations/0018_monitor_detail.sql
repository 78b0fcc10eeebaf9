ALTER TABLE `_sluice_monitor_buckets` ADD `detail` text;--> statement-breakpoint
CREATE INDEX `_sluice_webhook_counts_source_idx` ON `_sluice_webhook_counts` (`source`,`hour`);