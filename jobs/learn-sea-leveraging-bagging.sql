-- The SQL twin of learn-sea-leveraging-bagging.yaml: leveraging bagging of
-- 10 Hoeffding trees evaluated prequentially on the SEA concepts with 10%
-- label noise, the function switching every 25000 records.
--   build/eddy run --once jobs/learn-sea-leveraging-bagging.sql
--   build/eddy model export jobs/learn-sea-leveraging-bagging.sql bagging
SET name = 'learn-sea-leveraging-bagging';
SET description = 'Prequential leveraging bagging of Hoeffding trees on SEA with recurring concept switches';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE sea WITH (
  connector = 'generator', kind = 'sea', count = '${ROWS:-100000}', seed = 1,
  options.function = 1, options.noise = 0.1, options.drift_every = 25000);

CREATE MODEL bagging USING leveraging_bagging WITH (classes = 2, models = 10, w = 6, seed = 42,
                                                    base = 'hoeffding_tree',
                                                    base_grace_period = 200,
                                                    metrics_window = 5000);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, probability, model_version
FROM PREQUENTIAL(bagging, sea, features => ARRAY[x0, x1, x2], label => label);
