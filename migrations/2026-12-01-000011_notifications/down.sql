SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE notifications;
DROP TABLE notification_providers;
DROP TABLE notification_settings;
DROP TABLE notification_templates;
ALTER TABLE patients DROP COLUMN notifications_opt_out;
