-- The SQL twin of ad-pipeline-sasl.yaml: the ad pipeline against a Kafka
-- cluster that requires SASL. The password never appears here: it comes
-- from the environment of the process that runs the job (docs/server.md,
-- "Secrets"); the server refuses a credential written inline.
--   build/eddy submit jobs/ad-pipeline-sasl.sql
SET name = 'ad-pipeline-sasl';
SET description = 'YSB filter and projection on a SASL-secured cluster';
SET kafka.brokers = '${KAFKA_BROKERS:-embedded}';
SET kafka.properties."security.protocol" = '${KAFKA_SECURITY_PROTOCOL:-SASL_SSL}';
SET kafka.properties."sasl.mechanism" = '${KAFKA_SASL_MECHANISM:-SCRAM-SHA-512}';
SET kafka.properties."sasl.username" = '${KAFKA_USER:-eddy}';
SET kafka.properties."sasl.password" = '${KAFKA_PASSWORD:-}';
SET dead_letter.kafka.topic = 'ad-events-dlq';
SET trigger.interval = '1s';

CREATE SOURCE events (
  user_id text NOT NULL,
  page_id text NOT NULL,
  ad_id text NOT NULL,
  ad_type text NOT NULL,
  event_type text NOT NULL,
  event_time timestamp NOT NULL,
  ip_address text NOT NULL
) WITH (connector = 'kafka', topic = 'ad-events', group_id = 'eddy-ad-pipeline-sasl',
        start = 'earliest', format = 'json');

CREATE SINK "ad-views" WITH (connector = 'kafka', topic = 'ad-views', key = 'ad_id',
                             format = 'json');

CREATE VIEW views AS SELECT * FROM events WHERE event_type = 'view';

INSERT INTO "ad-views"
SELECT ad_id, upper(ad_type) AS ad_type, date_trunc('second', event_time) AS event_second
FROM views;
