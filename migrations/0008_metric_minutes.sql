CREATE TABLE `_sluice_metric_minutes` (
	`minute` text NOT NULL,
	`metric` text NOT NULL,
	`labels` text NOT NULL,
	`value` real NOT NULL,
	PRIMARY KEY(`minute`, `metric`, `labels`)
);
--> statement-breakpoint
-- The history from before rollups, so counters carry on from where the tables left them.
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_webhooks_total', json_object('source', source, 'outcome', outcome, 'reason', reason), sum(count) FROM `_sluice_webhook_counts` GROUP BY source, outcome, reason;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_records_loaded_total', json_object('source', source, 'stream', stream), sum(inserted) FROM `_sluice_loads`  GROUP BY source, stream HAVING sum(inserted) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_records_duplicate_total', json_object('source', source, 'stream', stream), sum(duplicates) FROM `_sluice_loads`  GROUP BY source, stream HAVING sum(duplicates) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_records_quarantined_total', json_object('source', source, 'stream', stream), sum(quarantined) FROM `_sluice_loads`  GROUP BY source, stream HAVING sum(quarantined) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_pull_pages_total', json_object('source', source, 'stream', stream), sum(pages) FROM `_sluice_pull_runs`  GROUP BY source, stream HAVING sum(pages) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_pull_runs_total', json_object('source', source, 'stream', stream, 'status', status), count(*) FROM `_sluice_pull_runs` WHERE status != 'running'  GROUP BY source, stream, status HAVING count(*) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_model_results_total', json_object('resource_type', resource_type, 'status', status), count(*) FROM `_sluice_model_results`  GROUP BY resource_type, status HAVING count(*) > 0;--> statement-breakpoint
INSERT INTO `_sluice_metric_minutes` (minute, metric, labels, value)
SELECT '0000-00-00T00:00', 'sluice_test_failures_total', '{}', coalesce(sum(failures), 0) FROM `_sluice_model_results` WHERE resource_type = 'test'  HAVING coalesce(sum(failures), 0) > 0;
