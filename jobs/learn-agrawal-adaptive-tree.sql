-- The SQL twin of learn-agrawal-adaptive-tree.yaml: the Hoeffding adaptive
-- tree (HAT-ADWIN) on Agrawal et al.'s loan stream with gradual drift from
-- function 1 to function 2 around record 50000. elevel, car and zipcode
-- are categories: cast to text, ordinal-encoded, split by equality.
--   build/eddy run --once jobs/learn-agrawal-adaptive-tree.sql
SET name = 'learn-agrawal-adaptive-tree';
SET description = 'Prequential Hoeffding adaptive tree on the Agrawal stream with gradual drift';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE loans WITH (
  connector = 'generator', kind = 'agrawal', count = '${ROWS:-100000}', seed = 2,
  options.function = 1, options.perturbation = 0.05, options.drift_at = 50000,
  options.drift_to = 2, options.drift_width = 5000);

CREATE MODEL hat USING hoeffding_adaptive_tree WITH (
  classes = 2, categorical = 'ordinal', categories = 32, metrics_window = 5000);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, probability, model_version
FROM PREQUENTIAL(hat, loans,
                 features => ARRAY[salary, commission, age, CAST(elevel AS text),
                                   CAST(car AS text), CAST(zipcode AS text), hvalue, hyears,
                                   loan],
                 label => label);
