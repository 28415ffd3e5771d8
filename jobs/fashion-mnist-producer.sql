-- The SQL twin of fashion-mnist-producer.yaml: the 70,000 Fashion-MNIST
-- images as PNGs in protobuf records into the fashion-mnist topic, in the
-- package's order (image i in partition i % 16).
--   KAFKA_BROKERS=127.0.0.1:9092 build/eddy run --once jobs/fashion-mnist-producer.sql
SET name = 'fashion-mnist-producer';
SET description = 'Fashion-MNIST images as PNG records into Kafka';
SET trigger.interval = '0s';
SET trigger.max_records_per_partition = 2000;

CREATE SOURCE images WITH (
  connector = 'generator', kind = 'fashion_mnist', count = '${IMAGES:-70000}', partitions = 16);

CREATE SINK "fashion-mnist" WITH (
  connector = 'kafka', brokers = '${KAFKA_BROKERS:-embedded}', topic = 'fashion-mnist',
  partitions = 16, format = 'protobuf', format.proto_file = 'fashion_mnist.proto',
  format.message = 'eddy.examples.FashionImage')
AS SELECT * FROM images;
