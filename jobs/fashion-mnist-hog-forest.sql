-- The SQL twin of fashion-mnist-hog-forest.yaml: each PNG of the
-- fashion-mnist topic decoded, its HOG descriptor (324 values) computed,
-- and an adaptive random forest evaluated prequentially on it; the figures
-- after every batch.
--   KAFKA_BROKERS=127.0.0.1:9092 build/eddy run --once jobs/fashion-mnist-hog-forest.sql
SET name = 'fashion-mnist-hog-forest';
SET description = 'Prequential adaptive random forest on HOG features of Fashion-MNIST images';
SET kafka.brokers = '${KAFKA_BROKERS:-embedded}';
SET trigger.interval = '0s';
SET trigger.max_records_per_partition = 64;
SET state.dir = '${STATE_DIR:-/tmp/eddy-state/fashion-mnist-hog-forest}';

CREATE SOURCE images WITH (
  connector = 'kafka', topic = 'fashion-mnist', start = 'earliest', partitions = 16,
  format = 'protobuf', format.proto_file = 'fashion_mnist.proto',
  format.message = 'eddy.examples.FashionImage');

CREATE VIEW hog AS
SELECT * FROM IMAGE_FEATURES(images, image, decode => 'png', resize => '28x28',
                             extractor => 'hog', cell_size => 7, block_size => 14,
                             block_stride => 7, bins => 9);

CREATE MODEL forest USING adaptive_random_forest WITH (
  metrics_window = 1000, classes = 10, trees = 10, grace_period = 200, seed = 1);

CREATE VIEW predicted AS
SELECT * FROM PREQUENTIAL(forest, hog, features => ARRAY[COLUMNS('hog_*')], label => label);

-- Accuracy over all images so far, and over the last 1,000.
CREATE SINK quality WITH (connector = 'stdout') AS SELECT * FROM forest.metrics;
