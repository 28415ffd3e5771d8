-- The SQL twin of learn-sgd-classifier.yaml: online logistic regression
-- (SGD) on the rotating hyperplane, with standardized features and a
-- constant step.
--   build/eddy run --once jobs/learn-sgd-classifier.sql
--   build/eddy model export jobs/learn-sgd-classifier.sql logistic
SET name = 'learn-sgd-classifier';
SET description = 'Prequential SGD logistic regression on a drifting hyperplane';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE plane WITH (
  connector = 'generator', kind = 'hyperplane', count = '${ROWS:-100000}', seed = 4,
  options.features = 10, options.drift_features = 2, options.magnitude = 0.001,
  options.sigma = 0.1, options.noise = 0.05);

CREATE MODEL logistic USING sgd_classifier WITH (
  standardize = true, metrics_window = 5000, classes = 2, learning_rate = 'constant',
  eta0 = 0.05);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, probability, model_version
FROM PREQUENTIAL(logistic, plane,
                 features => ARRAY[x0, x1, x2, x3, x4, x5, x6, x7, x8, x9],
                 label => label);
