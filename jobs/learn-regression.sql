-- The SQL twin of learn-regression.yaml: online linear regression,
-- evaluated prequentially (each row is predicted by the model as it
-- stands, then learned from).
--   build/eddy run --once jobs/learn-regression.sql
--   build/eddy model export jobs/learn-regression.sql sgd
SET name = 'learn-regression';
SET description = 'Prequential SGD regression on a generated linear stream';
SET trigger.interval = '100ms';
SET trigger.max_records_per_partition = 1000;

CREATE SOURCE points WITH (
  connector = 'generator', kind = 'regression', count = '${ROWS:-20000}', seed = 7,
  partitions = 2, options.features = '4', options.noise = '0.1');

CREATE MODEL sgd USING sgd_regressor WITH (learning_rate = 'constant', eta0 = 0.02);

CREATE SINK out WITH (connector = 'stdout', max_rows = 3);

INSERT INTO out
SELECT id, label, prediction, abs(prediction - label) AS error, model_version
FROM PREQUENTIAL(sgd, points, features => ARRAY[x0, x1, x2, x3], label => label);
