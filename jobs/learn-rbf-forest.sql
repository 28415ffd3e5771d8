-- The SQL twin of learn-rbf-forest.yaml: an adaptive random forest (10
-- Hoeffding trees over random feature subsets, online bagging, a drift
-- detector per tree) evaluated prequentially on the random RBF stream.
--   build/eddy run --once jobs/learn-rbf-forest.sql
--   build/eddy model export jobs/learn-rbf-forest.sql forest
SET name = 'learn-rbf-forest';
SET description = 'Prequential adaptive random forest on the random RBF stream';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE rbf WITH (connector = 'generator', kind = 'random_rbf', count = '${ROWS:-50000}',
                        seed = 5);

CREATE MODEL forest USING adaptive_random_forest WITH (classes = 2, trees = 10, seed = 42,
                                                       metrics_window = 5000);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, probability, model_version
FROM PREQUENTIAL(forest, rbf, features => ARRAY[x0, x1, x2, x3, x4, x5, x6, x7, x8, x9],
                 label => label);
