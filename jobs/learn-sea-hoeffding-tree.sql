-- The SQL twin of learn-sea-hoeffding-tree.yaml: a Hoeffding tree (VFDT)
-- evaluated prequentially on the SEA concepts, with an abrupt concept
-- switch at record 60000.
--   build/eddy run --once jobs/learn-sea-hoeffding-tree.sql
--   build/eddy model export jobs/learn-sea-hoeffding-tree.sql tree
SET name = 'learn-sea-hoeffding-tree';
SET description = 'Prequential Hoeffding tree on the SEA stream with an abrupt concept switch';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 10000;

CREATE SOURCE sea WITH (
  connector = 'generator', kind = 'sea', count = '${ROWS:-100000}', seed = 1,
  options.function = 1, options.noise = 0.1, options.drift_at = 60000, options.drift_to = 3);

CREATE MODEL tree USING hoeffding_tree WITH (classes = 2, grace_period = 200,
                                             metrics_window = 5000);

CREATE SINK out WITH (connector = 'stdout', max_rows = 2);

INSERT INTO out
SELECT id, label, prediction, probability, model_version
FROM PREQUENTIAL(tree, sea, features => ARRAY[x0, x1, x2], label => label);
