-- The main example in SQL, the twin of ad-pipeline.yaml: read ad events
-- from Kafka, keep the views, reshape them and write them to another topic
-- keyed by ad. Malformed events go to the ad-events-dlq topic with the
-- reason in their headers.
--   KAFKA_BROKERS=host:9092 build/eddy run jobs/ad-pipeline.sql
SET name = 'ad-pipeline';
SET description = 'YSB filter and projection, Kafka to Kafka';
SET kafka.brokers = '${KAFKA_BROKERS:-embedded}';
SET dead_letter.kafka.topic = 'ad-events-dlq';
SET trigger.interval = '1s';
SET trigger.max_records_per_partition = 50000;

CREATE SOURCE events (
  user_id text NOT NULL,
  page_id text NOT NULL,
  ad_id text NOT NULL,
  ad_type text NOT NULL,
  event_type text NOT NULL,
  event_time timestamp NOT NULL,
  ip_address text NOT NULL
) WITH (connector = 'kafka', topic = 'ad-events', group_id = 'eddy-ad-pipeline',
        start = 'earliest', partitions = 3, format = 'json',
        -- records retention deleted before the job read them fail the job
        -- (the default); 'skip' continues from the log start and counts them
        on_lost_input = 'fail');

-- exactly_once is the default: a batch interrupted by a crash runs again
-- and skips what already landed (docs/exactly-once.md).
CREATE SINK "ad-views" WITH (connector = 'kafka', topic = 'ad-views', key = 'ad_id',
                             partitions = 3, delivery = 'exactly_once', format = 'json');

CREATE VIEW views AS SELECT * FROM events WHERE event_type = 'view';

INSERT INTO "ad-views"
SELECT ad_id,
       upper(ad_type) AS ad_type,
       event_time,
       date_trunc('second', event_time) AS event_second,
       ip_address ~ '^10[.]' AS internal
FROM views;
