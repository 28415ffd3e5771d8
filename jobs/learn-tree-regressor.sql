-- The SQL twin of learn-tree-regressor.yaml: the Hoeffding tree regressor
-- (adaptive leaves) on the linear stream with Gaussian noise 0.1.
--   build/eddy run --once jobs/learn-tree-regressor.sql
--   build/eddy model export jobs/learn-tree-regressor.sql tree
SET name = 'learn-tree-regressor';
SET description = 'Prequential Hoeffding tree regressor on a generated linear stream';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE points WITH (
  connector = 'generator', kind = 'regression', count = '${ROWS:-50000}', seed = 6,
  options.features = 4, options.noise = 0.1);

CREATE MODEL tree USING hoeffding_tree_regressor WITH (
  grace_period = 200, leaf_model = 'adaptive', metrics_window = 5000);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, abs(prediction - label) AS error, model_version
FROM PREQUENTIAL(tree, points, features => ARRAY[x0, x1, x2, x3], label => label);
