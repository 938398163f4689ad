SET lock_timeout = '5s';
SET statement_timeout = '60s';

DROP TABLE webhook_attempts;
DROP TABLE webhook_messages;
DROP TABLE webhook_endpoints;
