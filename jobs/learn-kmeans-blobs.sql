-- The SQL twin of learn-kmeans-blobs.yaml: streaming k-means on Gaussian
-- blobs (five centres, standard deviation 0.5). Each row gets the cluster
-- of the model as it stood before the row was learned, next to the
-- generator's true cluster; written as JSON lines to a file.
--   build/eddy run --once jobs/learn-kmeans-blobs.sql
--   build/eddy model export jobs/learn-kmeans-blobs.sql kmeans
SET name = 'learn-kmeans-blobs';
SET description = 'Streaming k-means on a Gaussian-blob stream, assignments to a file';
SET trigger.interval = '10ms';
SET trigger.max_records_per_partition = 1000;

CREATE SOURCE points WITH (
  connector = 'generator', kind = 'clusters', count = '${ROWS:-50000}', seed = 56,
  options.features = 2, options.k = 5, options.spread = 0.5);

CREATE MODEL kmeans USING kmeans WITH (k = 5, seed = 1);

CREATE SINK out WITH (connector = 'file', path = '${OUT:-/tmp/eddy-learn-kmeans-blobs.jsonl}');

INSERT INTO out
SELECT id, label AS true_cluster, cluster, distance, model_version
FROM PREQUENTIAL(kmeans, points, features => ARRAY[x0, x1]);
