-- The SQL twin of ysb-campaign-windows.yaml, the Yahoo Streaming Benchmark
-- query: ad views per campaign per 10-second event-time window. Ad events
-- are joined to the ad -> campaign table (kept in RocksDB), counted in
-- tumbling windows, and each window is written once when the watermark
-- passes its end.
--   build/eddy run --once jobs/ysb-campaign-windows.sql
SET name = 'ysb-campaign-windows';
SET description = 'YSB views per campaign per 10 s window';
SET trigger.interval = '100ms';
SET trigger.max_records_per_partition = 20000;
SET state.dir = '../eddy-state/ysb-campaign-windows';
SET state.key_groups = 128;
SET state.block_cache = '64MB';
SET state.write_buffer = '32MB';
SET checkpoint.every_batches = 5;
SET checkpoint.keep = 3;

CREATE SOURCE events (WATERMARK FOR event_time AS event_time - INTERVAL '1' SECOND) WITH (
  connector = 'generator', kind = 'ysb', count = '${EVENTS:-100000}', seed = 42, partitions = 3);

-- A table: the latest row per ad_id, to join against.
CREATE TABLE campaigns (PRIMARY KEY (ad_id)) WITH (
  connector = 'generator', kind = 'ysb_campaigns', seed = 42);

CREATE VIEW views AS SELECT * FROM events WHERE event_type = 'view';

CREATE VIEW with_campaign AS
SELECT * FROM views JOIN campaigns ON views.ad_id = campaigns.ad_id;

CREATE VIEW per_campaign AS
SELECT campaign_id, window_start, window_end, count(*) AS views, max(event_time) AS last_view
FROM TUMBLE(with_campaign, event_time, INTERVAL '10' SECOND)
GROUP BY campaign_id, window_start, window_end
EMIT ON WINDOW CLOSE;

CREATE SINK counts WITH (connector = 'file', path = 'ysb-campaign-windows.out.jsonl',
                         format = 'json')
AS SELECT * FROM per_campaign;

-- Rows that arrive after their window was written.
CREATE SINK late WITH (connector = 'stdout') AS SELECT * FROM per_campaign.late;
