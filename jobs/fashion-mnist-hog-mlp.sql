-- The SQL twin of fashion-mnist-hog-mlp.yaml: each PNG of the
-- fashion-mnist topic decoded, its HOG descriptor (1,296 values) computed,
-- and an MLP evaluated prequentially on it; the figures after every batch.
--   KAFKA_BROKERS=127.0.0.1:9092 build/eddy run --once jobs/fashion-mnist-hog-mlp.sql
SET name = 'fashion-mnist-hog-mlp';
SET description = 'Prequential MLP on HOG features of Fashion-MNIST images from Kafka';
SET kafka.brokers = '${KAFKA_BROKERS:-embedded}';
SET trigger.interval = '0s';
SET trigger.max_records_per_partition = 64;
SET state.dir = '${STATE_DIR:-/tmp/eddy-state/fashion-mnist-hog-mlp}';

CREATE SOURCE images WITH (
  connector = 'kafka', topic = 'fashion-mnist', start = 'earliest', partitions = 16,
  format = 'protobuf', format.proto_file = 'fashion_mnist.proto',
  format.message = 'eddy.examples.FashionImage');

CREATE VIEW hog AS
SELECT * FROM IMAGE_FEATURES(images, image, decode => 'png', resize => '28x28',
                             extractor => 'hog', cell_size => 4, block_size => 8,
                             block_stride => 4, bins => 9);

CREATE MODEL mlp USING mlp_classifier WITH (
  standardize = true, metrics_window = 1000, classes = 10, hidden = '32', learning_rate = 0.003,
  batch_size = 64, seed = 1);

CREATE VIEW predicted AS
SELECT * FROM PREQUENTIAL(mlp, hog, features => ARRAY[COLUMNS('hog_*')], label => label);

-- Accuracy over all images so far, and over the last 1,000.
CREATE SINK quality WITH (connector = 'stdout') AS SELECT * FROM mlp.metrics;
