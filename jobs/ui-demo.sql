-- The SQL twin of ui-demo.yaml: a live learner to watch in the web UI — a
-- Hoeffding tree evaluated prequentially on the SEA stream at 5000 rows/s
-- (unbounded unless ROWS is set), its predictions and its quality figures
-- written to files.
--   build/eddy run --ui 127.0.0.1:8080 jobs/ui-demo.sql
SET name = 'ui-demo';
SET description = 'A live learner to watch in the web UI';
SET trigger.interval = '250ms';
SET checkpoint.every_batches = 20;
SET checkpoint.keep = 10;
SET state.dir = '${STATE_DIR:-/tmp/eddy-state/ui-demo}';

CREATE SOURCE sea (WATERMARK FOR event_time AS event_time) WITH (
  connector = 'generator', kind = 'sea', count = '${ROWS:-0}', rate = '${RATE:-5000}', seed = 1,
  start_time = '${START_TIME:-2026-01-01T00:00:00Z}', options.function = 1, options.noise = 0.1,
  options.drift_at = 300000, options.drift_to = 3);

CREATE MODEL tree USING hoeffding_tree WITH (classes = 2, grace_period = 200,
                                             metrics_window = 5000);

CREATE SINK predictions WITH (connector = 'file',
                              path = '${OUT_DIR:-/tmp/eddy-ui-demo}/predictions.jsonl',
                              format = 'json')
AS SELECT * FROM PREQUENTIAL(tree, sea, features => ARRAY[x0, x1, x2], label => label);

CREATE SINK quality WITH (connector = 'file', path = '${OUT_DIR:-/tmp/eddy-ui-demo}/quality.jsonl',
                          format = 'json')
AS SELECT * FROM tree.metrics;
