-- The SQL twin of learn-windowed-accuracy.yaml: a prequential Hoeffding
-- tree, then a tumbling window computing per 5 s of event time how many
-- rows were predicted and the share predicted right; and the tree's
-- prequential figures after each batch (tree.metrics).
--   build/eddy run --once jobs/learn-windowed-accuracy.sql
SET name = 'learn-windowed-accuracy';
SET description = 'Prequential accuracy of a Hoeffding tree per 5 s event-time window';
SET trigger.interval = '100ms';
SET trigger.max_records_per_partition = 1000;
SET state.dir = '${STATE_DIR:-/tmp/eddy-state/learn-windowed-accuracy}';

CREATE SOURCE points (WATERMARK FOR event_time AS event_time) WITH (
  connector = 'generator', kind = 'classification', count = '${ROWS:-20000}', seed = 7,
  partitions = 2, options.features = '4');

CREATE MODEL tree USING hoeffding_tree;

CREATE VIEW predicted AS
SELECT * FROM PREQUENTIAL(tree, points, features => ARRAY[x0, x1, x2, x3], label => label);

CREATE VIEW accuracy AS
SELECT window_start, window_end,
       count(*) AS rows,
       avg(CASE WHEN prediction = label THEN 1.0 ELSE 0.0 END) AS accuracy
FROM TUMBLE(predicted, event_time, INTERVAL '5' SECOND)
GROUP BY window_start, window_end;

CREATE SINK out WITH (connector = 'stdout') AS SELECT * FROM accuracy;

-- The learner's own prequential figures after every batch.
CREATE SINK quality WITH (connector = 'stdout', max_rows = 1) AS SELECT * FROM tree.metrics;
