-- Earlier versions could keep one open row per delivery of a failing record; keep the first.
DELETE FROM `_sluice_quarantine` WHERE `status` = 'open' AND `id` NOT IN (SELECT min(`id`) FROM `_sluice_quarantine` WHERE `status` = 'open' GROUP BY `source`, `stream`, `key`);--> statement-breakpoint
CREATE UNIQUE INDEX `_sluice_quarantine_open_key_idx` ON `_sluice_quarantine` (`source`,`stream`,`key`) WHERE "_sluice_quarantine"."status" = 'open';--> statement-breakpoint
CREATE INDEX `_sluice_quarantine_load_idx` ON `_sluice_quarantine` (`load_id`);