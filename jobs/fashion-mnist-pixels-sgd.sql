-- The SQL twin of fashion-mnist-pixels-sgd.yaml: softmax regression on the
-- 784 pixels of each Fashion-MNIST PNG from the fashion-mnist topic,
-- evaluated prequentially; the baseline for the HOG jobs.
--   KAFKA_BROKERS=127.0.0.1:9092 build/eddy run --once jobs/fashion-mnist-pixels-sgd.sql
SET name = 'fashion-mnist-pixels-sgd';
SET description = 'Prequential softmax regression on the pixels of Fashion-MNIST images';
SET kafka.brokers = '${KAFKA_BROKERS:-embedded}';
SET trigger.interval = '0s';
SET trigger.max_records_per_partition = 64;
SET state.dir = '${STATE_DIR:-/tmp/eddy-state/fashion-mnist-pixels-sgd}';

CREATE SOURCE images WITH (
  connector = 'kafka', topic = 'fashion-mnist', start = 'earliest', partitions = 16,
  format = 'protobuf', format.proto_file = 'fashion_mnist.proto',
  format.message = 'eddy.examples.FashionImage');

CREATE VIEW pixels AS
SELECT * FROM IMAGE_FEATURES(images, image, decode => 'png', resize => '28x28',
                             extractor => 'pixels');

CREATE MODEL softmax USING sgd_classifier WITH (
  metrics_window = 1000, classes = 10, learning_rate = 'adagrad', eta0 = 0.05);

CREATE VIEW predicted AS
SELECT * FROM PREQUENTIAL(softmax, pixels, features => ARRAY[COLUMNS('pixels_*')],
                          label => label);

-- Accuracy over all images so far, and over the last 1,000.
CREATE SINK quality WITH (connector = 'stdout') AS SELECT * FROM softmax.metrics;
