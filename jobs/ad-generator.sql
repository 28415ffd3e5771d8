-- The SQL twin of ad-generator.yaml: the Yahoo Streaming Benchmark
-- ad-event stream, as JSON, into the ad-events topic.
--   EVENTS=100000 build/eddy run jobs/ad-generator.sql
SET name = 'ad-generator';
SET description = 'Synthetic YSB ad events into Kafka';
SET trigger.interval = '200ms';

CREATE SOURCE ads WITH (
  connector = 'generator', kind = 'ysb', count = '${EVENTS:-300000}', rate = '${RATE:-20000}',
  seed = 42, partitions = 3);

CREATE SINK "ad-events" WITH (
  connector = 'kafka', brokers = '${KAFKA_BROKERS:-embedded}', topic = 'ad-events',
  partitions = 3, format = 'json')
AS SELECT * FROM ads;
