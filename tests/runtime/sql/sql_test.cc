// SQL jobs compiled onto the job spec: each statement and construct gives
// exactly the spec fields its YAML form would, and each mistake an error
// with the SQL file's line and column and what was expected.

#include "runtime/sql/sql.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <map>

namespace eddy {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<LoadedJob> Load(const std::string& sql, std::map<std::string, std::string> vars = {}) {
  return LoadSqlJobText(sql, "job.sql", Env(std::move(vars)));
}

// The error a text gives; fails the test when it compiles.
std::string Error(const std::string& sql) {
  auto job = Load(sql);
  if (job.ok()) {
    ADD_FAILURE() << "compiled, expected an error:\n" << sql;
    return "";
  }
  return job.status().message();
}

const char kEvents[] = R"(
CREATE SOURCE events (
  ad_id text NOT NULL,
  event_type text,
  price double precision,
  n bigint,
  event_time timestamp NOT NULL,
  WATERMARK FOR event_time AS event_time - INTERVAL '2' SECOND
) WITH (connector = 'kafka', topic = 'ad-events', format = 'json');
CREATE SINK out WITH (connector = 'file', path = 'out.jsonl');
)";

const spec::OperatorSpec& Op(const LoadedJob& job, int index) { return job.spec.operators(index); }

TEST(SqlSourceTest, KafkaSourceMapsColumnsWatermarkAndOptions) {
  auto job = Load(std::string(kEvents) + "INSERT INTO out SELECT * FROM events;");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::SourceSpec& source = job->spec.sources(0);
  EXPECT_EQ(source.name(), "events");
  EXPECT_EQ(source.kafka().topics(0), "ad-events");
  EXPECT_EQ(source.format().type(), "json");
  ASSERT_EQ(source.schema_size(), 5);
  EXPECT_EQ(source.schema(0).type(), "string");
  EXPECT_FALSE(source.schema(0).nullable());
  EXPECT_TRUE(source.schema(1).nullable());
  EXPECT_EQ(source.schema(2).type(), "double");
  EXPECT_EQ(source.schema(3).type(), "int64");
  EXPECT_EQ(source.schema(4).type(), "timestamp");
  EXPECT_EQ(source.event_time().column(), "event_time");
  EXPECT_EQ(source.event_time().max_out_of_orderness(), "2s");
  // SELECT * adds no operator: the sink reads the source.
  EXPECT_EQ(job->spec.operators_size(), 0);
  EXPECT_EQ(job->spec.sinks(0).input(), "events");
  EXPECT_EQ(job->spec.sinks(0).file().path(), "out.jsonl");
  EXPECT_EQ(job->spec.name(), "job");  // the file's stem
}

TEST(SqlSourceTest, EveryKafkaPropertyAndEnvironmentVariables) {
  auto job = Load(R"(
SET name = 'props';
SET kafka.properties."security.protocol" = '${PROTO:-SASL_SSL}';
SET dead_letter.kafka.topic = 'dlq';
SET trigger.interval = '250ms';
CREATE SOURCE s (v text) WITH (connector = 'kafka', topics = 'a, b', brokers = '${B}',
  start = 'latest', group_id = 'g', partitions = 4, properties."fetch.min.bytes" = 1,
  "properties.client.id" = 'c', idle_timeout = '5s');
CREATE SINK k WITH (connector = 'kafka', topic = 't', key = 'v', delivery = 'at_least_once',
  headers.origin = '''sql''', format = csv, format.delimiter = ';');
INSERT INTO k SELECT * FROM s;
)",
                  {{"B", "host:9092"}});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::KafkaSourceSpec& kafka = job->spec.sources(0).kafka();
  ASSERT_EQ(kafka.topics_size(), 2);
  EXPECT_EQ(kafka.topics(1), "b");
  EXPECT_EQ(kafka.brokers(), "host:9092");
  EXPECT_EQ(kafka.start(), "latest");
  EXPECT_EQ(kafka.group_id(), "g");
  EXPECT_EQ(kafka.partitions(), 4);
  EXPECT_EQ(kafka.properties().at("fetch.min.bytes"), "1");
  EXPECT_EQ(kafka.properties().at("client.id"), "c");
  EXPECT_EQ(job->spec.sources(0).event_time().idle_timeout(), "5s");
  EXPECT_EQ(job->spec.kafka().properties().at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(job->spec.dead_letter().kafka().topic(), "dlq");
  EXPECT_EQ(job->spec.trigger().interval(), "250ms");
  const spec::SinkSpec& sink = job->spec.sinks(0);
  EXPECT_EQ(sink.kafka().key(), "v");
  EXPECT_EQ(sink.kafka().delivery(), "at_least_once");
  EXPECT_EQ(sink.kafka().headers().at("origin"), "'sql'");
  EXPECT_EQ(sink.format().type(), "csv");
  EXPECT_EQ(sink.format().delimiter(), ";");
}

TEST(SqlQueryTest, WhereAndSelectGoThroughTheExpressionLanguage) {
  auto job = Load(std::string(kEvents) + R"(
INSERT INTO out
SELECT ad_id, upper(event_type), price * n AS total, CAST(n AS text),
       event_type ~ '^v' AS v, event_type LIKE 'cl_ck%' AS c, -price,
       CASE WHEN n IN (1, 2) THEN 'few' ELSE 'many' END AS size,
       coalesce(price, 0.5) AS p, INTERVAL '1 minute 30 seconds' AS i,
       EXTRACT(hour FROM event_time), x.n IS NOT NULL AS known
FROM events AS x
WHERE event_type = 'view' AND n BETWEEN 1 AND 10 AND NOT (price IS NULL) OR ad_id <> 'a';
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_EQ(job->spec.operators_size(), 2);
  EXPECT_EQ(Op(*job, 0).filter(),
            "(((event_type = 'view') AND (n BETWEEN 1 AND 10) AND (NOT (price IS NULL))) OR "
            "(ad_id <> 'a'))");
  const auto& columns = Op(*job, 1).select().columns();
  std::vector<std::string> items(columns.begin(), columns.end());
  EXPECT_EQ(items, (std::vector<std::string>{
                       "ad_id",
                       "upper(event_type) AS upper",
                       "(price * n) AS total",
                       "CAST(n AS string) AS n",
                       "regexp_match(event_type, '^v') AS v",
                       "regexp_match(event_type, '(?s)^cl.ck.*$') AS c",
                       "(-price)",
                       "CASE WHEN (n IN (1, 2)) THEN 'few' ELSE 'many' END AS size",
                       "coalesce(price, 0.5) AS p",
                       "INTERVAL '1 minute 30 seconds' AS i",
                       "hour(event_time) AS extract",
                       "(n IS NOT NULL) AS known",
                   }));
  EXPECT_EQ(Op(*job, 0).name(), "out_where");
  EXPECT_EQ(Op(*job, 1).inputs(0), "out_where");
  EXPECT_EQ(job->spec.sinks(0).input(), "out_select");
}

TEST(SqlQueryTest, TumblingWindowWithKeysAndEmit) {
  auto job = Load(std::string(kEvents) + R"(
CREATE VIEW per_ad AS
SELECT ad_id, window_start, window_end, count(*) AS views, sum(price) AS revenue
FROM TUMBLE(events, event_time, INTERVAL '10' SECOND, allowed_lateness => INTERVAL '5 seconds')
WHERE event_type = 'view'
GROUP BY ad_id, window_start, window_end
EMIT ON UPDATE;
INSERT INTO out SELECT * FROM per_ad;
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  ASSERT_EQ(job->spec.operators_size(), 2);
  EXPECT_EQ(Op(*job, 0).filter(), "(event_type = 'view')");
  const spec::OperatorSpec window = Op(*job, 1);
  EXPECT_EQ(window.name(), "per_ad");  // the view's name: per_ad.late is its late output
  EXPECT_EQ(window.window().type(), "tumbling");
  EXPECT_EQ(window.window().size(), "10s");
  EXPECT_EQ(window.window().allowed_lateness(), "5s");
  EXPECT_EQ(window.window().output_mode(), "update");
  EXPECT_EQ(window.window().time_column(), "event_time");
  EXPECT_EQ(window.window().key(0), "ad_id");
  EXPECT_EQ(window.window().aggregates(0), "count(*) AS views");
  EXPECT_EQ(window.window().aggregates(1), "sum(price) AS revenue");
  EXPECT_EQ(job->spec.sinks(0).input(), "per_ad");
}

TEST(SqlQueryTest, HopSessionAndExpressionsOverAggregates) {
  auto job = Load(std::string(kEvents) + R"(
CREATE SINK s2 WITH (connector = 'stdout');
CREATE SINK late WITH (connector = 'stdout');
CREATE VIEW h AS
SELECT window_end, upper(ad_id) AS ad, count(DISTINCT event_type), sum(price) / count(*) AS avg_price
FROM HOP(events, event_time, INTERVAL '5' SECOND, INTERVAL '1' MINUTE)
GROUP BY window_start, window_end, upper(ad_id)
HAVING count(*) > 2;
INSERT INTO out SELECT * FROM h;
INSERT INTO s2 SELECT window_start, window_end, max(n) FROM SESSION(events, event_time, INTERVAL '30' SECOND)
  GROUP BY window_start, window_end;
INSERT INTO late SELECT * FROM h.late;
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::WindowSpec hop = Op(*job, 0).window();
  EXPECT_EQ(hop.type(), "sliding");
  EXPECT_EQ(hop.slide(), "5s");
  EXPECT_EQ(hop.size(), "1m");
  EXPECT_EQ(hop.key(0), "upper(ad_id) AS ad");
  std::vector<std::string> aggregates(hop.aggregates().begin(), hop.aggregates().end());
  EXPECT_EQ(aggregates, (std::vector<std::string>{"count_distinct(event_type) AS count",
                                                  "sum(price) AS _agg0", "count(*) AS _agg1"}));
  EXPECT_EQ(Op(*job, 1).filter(), "(_agg1 > 2)");
  std::vector<std::string> items(Op(*job, 2).select().columns().begin(),
                                 Op(*job, 2).select().columns().end());
  EXPECT_EQ(items, (std::vector<std::string>{"window_end", "ad", "count",
                                             "(_agg0 / _agg1) AS avg_price"}));
  EXPECT_EQ(Op(*job, 2).name(), "h");
  EXPECT_EQ(Op(*job, 3).window().type(), "session");
  EXPECT_EQ(Op(*job, 3).window().gap(), "30s");
  EXPECT_EQ(Op(*job, 3).window().aggregates(0), "max(n) AS max");
  // h.late is the late output of h's window, which is not h itself.
  EXPECT_EQ(job->spec.sinks(2).input(), Op(*job, 0).name() + ".late");
}

TEST(SqlQueryTest, GroupByWithoutWindowIsAKeyedAggregateWithTtl) {
  auto job = Load(std::string(kEvents) + R"(
CREATE VIEW totals WITH (ttl = '1h') AS
SELECT ad_id, count(*) AS n, avg(price) FROM events GROUP BY 1;
INSERT INTO out SELECT * FROM totals;
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::KeyedAggregateSpec aggregate = Op(*job, 0).aggregate();
  EXPECT_EQ(Op(*job, 0).name(), "totals");
  EXPECT_EQ(aggregate.key(0), "ad_id");
  EXPECT_EQ(aggregate.aggregates(0), "count(*) AS n");
  EXPECT_EQ(aggregate.aggregates(1), "avg(price) AS avg");
  EXPECT_EQ(aggregate.ttl(), "1h");
}

TEST(SqlQueryTest, LookupJoinUnionCteAndSubquery) {
  auto job = Load(std::string(kEvents) + R"(
CREATE TABLE ads (ad_id text PRIMARY KEY, campaign text, owner text)
  WITH (connector = 'kafka', topic = 'ads', format = 'json');
CREATE SOURCE more (ad_id text, event_type text, price double precision, n bigint,
  event_time timestamp) WITH (connector = 'file', path = 'more.jsonl');
INSERT INTO out
WITH clicks AS (SELECT * FROM events WHERE event_type = 'click')
SELECT e.*, a.campaign FROM clicks AS e LEFT JOIN ads a ON upper(e.ad_id) = a.ad_id
UNION ALL
SELECT s.*, 'none' FROM (SELECT * FROM more) AS s;
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  // clicks (filter), the join, the subquery (nothing), its select, union.
  std::vector<std::string> kinds;
  for (const spec::OperatorSpec& op : job->spec.operators()) {
    kinds.push_back(op.name() + ":" + std::to_string(op.kind_case()));
  }
  ASSERT_EQ(job->spec.operators_size(), 4) << ::testing::PrintToString(kinds);
  EXPECT_EQ(Op(*job, 0).name(), "clicks");
  const spec::OperatorSpec join = Op(*job, 1);
  EXPECT_EQ(join.inputs(0), "clicks");
  EXPECT_EQ(join.inputs(1), "ads");
  EXPECT_EQ(join.lookup_join().key(), "upper(ad_id)");
  EXPECT_EQ(join.lookup_join().table_key(), "ad_id");
  EXPECT_EQ(join.lookup_join().columns_size(), 1);
  EXPECT_EQ(join.lookup_join().columns(0), "campaign");
  EXPECT_EQ(join.lookup_join().join_type(), "left");
  EXPECT_EQ(Op(*job, 2).select().columns(0), "*");
  EXPECT_EQ(Op(*job, 2).select().columns(1), "'none'");
  EXPECT_EQ(Op(*job, 2).inputs(0), "more");
  EXPECT_TRUE(Op(*job, 3).has_union_());
  EXPECT_EQ(Op(*job, 3).inputs(0), "out_u0_join");
  EXPECT_EQ(Op(*job, 3).inputs(1), Op(*job, 2).name());
}

TEST(SqlLearningTest, ModelsTrainPredictAndExposeMetrics) {
  auto job = Load(R"(
CREATE SOURCE points WITH (connector = 'generator', kind = 'regression', count = 100,
  options.features = 2);
CREATE MODEL m USING sgd_regressor WITH (eta0 = 0.05, standardize = true, metrics_window = 50);
CREATE MODEL l USING kmeans WITH (k = 3);
CREATE SINK out WITH (connector = 'stdout');
CREATE SINK metrics WITH (connector = 'stdout');
CREATE SINK clusters WITH (connector = 'stdout');
INSERT INTO out SELECT id, prediction FROM PREQUENTIAL(m, points,
  features => ARRAY[x0, CAST(x1 AS double precision), x0 * 2], label => label,
  per_key => ARRAY[id % 2]);
INSERT INTO metrics SELECT * FROM m.metrics;
CREATE VIEW trained AS SELECT * FROM LEARN(l, points, features => ARRAY[x0, x1]);
INSERT INTO clusters SELECT * FROM PREDICT(l);
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::OperatorSpec prequential = Op(*job, 0);
  EXPECT_EQ(prequential.name(), "m");
  const spec::LearnSpec& learn = prequential.prequential();
  EXPECT_EQ(learn.model(), "sgd_regressor");
  std::vector<std::string> features(learn.features().begin(), learn.features().end());
  EXPECT_EQ(features, (std::vector<std::string>{"x0", "CAST(x1 AS double) AS x1", "(x0 * 2)"}));
  EXPECT_EQ(learn.label(), "label");
  EXPECT_EQ(learn.per_key(0), "(id % 2)");
  EXPECT_TRUE(learn.standardize());
  EXPECT_EQ(learn.metrics_window(), 50);
  EXPECT_EQ(learn.options().at("eta0"), "0.05");
  EXPECT_EQ(job->spec.sinks(1).input(), "m.metrics");
  EXPECT_EQ(Op(*job, 2).name(), "l");
  EXPECT_EQ(Op(*job, 2).learn().options().at("k"), "3");
  EXPECT_EQ(Op(*job, 3).predict().from(), "l");
  EXPECT_EQ(Op(*job, 3).inputs(0), "l");
}

TEST(SqlLearningTest, ImageFeaturesAndColumnPatterns) {
  auto job = Load(R"(
CREATE SOURCE images (image text, label bigint) WITH (connector = 'kafka', topic = 'i');
CREATE MODEL mlp USING mlp_classifier WITH (classes = 10);
CREATE SINK out WITH (connector = 'stdout');
INSERT INTO out SELECT label, prediction FROM PREQUENTIAL(mlp,
  IMAGE_FEATURES(images, image, resize => '28x28', cell_size => 4, prefix => 'h'),
  features => ARRAY[COLUMNS('h*'), label * 2], label => label);
)");
  ASSERT_FALSE(job.ok());
  EXPECT_NE(job.status().message().find("PREQUENTIAL reads a source, view or WITH query"),
            std::string::npos)
      << job.status().ToString();

  job = Load(R"(
CREATE SOURCE images (image text, label bigint) WITH (connector = 'kafka', topic = 'i');
CREATE MODEL mlp USING mlp_classifier WITH (classes = 10);
CREATE SINK out WITH (connector = 'stdout');
CREATE VIEW features AS SELECT * FROM
  IMAGE_FEATURES(images, "column" => image, resize => '28x28', cell_size => 4, prefix => 'h');
INSERT INTO out SELECT label, prediction FROM PREQUENTIAL(mlp, features,
  features => ARRAY[COLUMNS('h*'), label * 2], label => label);
)");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const spec::OperatorSpec& image = Op(*job, 0);
  EXPECT_EQ(image.name(), "features");
  EXPECT_EQ(image.inputs(0), "images");
  EXPECT_EQ(image.image_features().column(), "image");
  EXPECT_EQ(image.image_features().resize(), "28x28");
  EXPECT_EQ(image.image_features().cell_size(), 4);
  EXPECT_EQ(image.image_features().prefix(), "h");
  const spec::LearnSpec& learn = Op(*job, 1).prequential();
  EXPECT_EQ(Op(*job, 1).inputs(0), "features");
  std::vector<std::string> features(learn.features().begin(), learn.features().end());
  EXPECT_EQ(features, (std::vector<std::string>{"h*", "(label * 2)"}));

  EXPECT_EQ(Error("CREATE SOURCE s (image text) WITH (connector = 'kafka', topic = 't');\n"
                  "CREATE SINK o WITH (connector = 'stdout') AS\n"
                  "SELECT * FROM IMAGE_FEATURES(s, image, sise => '2x2');"),
            "job.sql:3:40: unknown argument 'sise' of IMAGE_FEATURES (expected one of: "
            "bins, block_size, block_stride, cell_size, channels, column, decode, extractor, "
            "grid, height, prefix, resize, width)");
  EXPECT_EQ(Error("CREATE SOURCE s (image text) WITH (connector = 'kafka', topic = 't');\n"
                  "CREATE SINK o WITH (connector = 'stdout') AS\n"
                  "SELECT * FROM IMAGE_FEATURES(s, image, bins => 'many');"),
            "job.sql:3:48: IMAGE_FEATURES bins: expected an integer, got 'many'");
  EXPECT_NE(Error("CREATE SOURCE s (x bigint) WITH (connector = 'kafka', topic = 't');\n"
                  "CREATE MODEL m USING sgd_regressor;\n"
                  "CREATE SINK o WITH (connector = 'stdout') AS\n"
                  "SELECT * FROM PREQUENTIAL(m, s, features => ARRAY[COLUMNS('x+1')], label => x);")
                .find("job.sql:4:51: COLUMNS('pattern') takes one string, a column-name pattern"),
            std::string::npos);
}

// ---- errors: file:line:column and what was expected ----

TEST(SqlErrorTest, SyntaxErrorsCarryPostgresPositions) {
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafka', topic = 't');\n"
                  "SELEC * FROM s;"),
            "job.sql:2:1: syntax error at or near \"SELEC\" (expected PostgreSQL syntax, "
            "docs/sql.md)");
  EXPECT_EQ(Error("CREATE SOURCE s (a text"),
            "job.sql:1:24: syntax error at end of input (expected the rest of the statement)");
}

TEST(SqlErrorTest, UnsupportedConstructsAreNamed) {
  const std::string prefix = std::string(kEvents);
  // kEvents is 10 lines; the statement starts on line 11.
  EXPECT_EQ(
      Error(prefix + "INSERT INTO out SELECT ad_id, sum(n) OVER (PARTITION BY ad_id) FROM events;"),
      "job.sql:11:31: window functions OVER (...) are not supported: aggregate over TUMBLE, "
      "HOP or SESSION windows with GROUP BY window_start, window_end");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events ORDER BY n;"),
            "job.sql:11:1: ORDER BY is not supported: a stream has no end to sort by");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events UNION SELECT * FROM events;"),
            "job.sql:11:1: UNION removes duplicates, which a stream cannot: use UNION ALL");
  EXPECT_EQ(
      Error(prefix + "INSERT INTO out SELECT * FROM events WHERE n IN (SELECT n FROM events);"),
      "job.sql:11:46: subqueries in expressions are not supported (join a table, or use a "
      "subquery in FROM)");
  EXPECT_EQ(Error(prefix + "DELETE FROM events;"),
            "job.sql:11:1: DELETE statements are not supported (docs/sql.md lists the statements "
            "a job may hold)");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT count(*) FROM events;"),
            "job.sql:11:1: an aggregate needs GROUP BY: a key (a running aggregate per key) or "
            "window_start, window_end of a TUMBLE, HOP or SESSION window");
  EXPECT_EQ(
      Error(prefix + "INSERT INTO out SELECT ad_id, n, count(*) FROM events GROUP BY ad_id;"),
      "job.sql:11:31: column 'n' must appear in GROUP BY or be used in an aggregate function");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events a JOIN events b ON a.n = b.n;"),
            "job.sql:11:45: 'events' is not a table: the right side of a JOIN is a table with a "
            "PRIMARY KEY (a lookup join); joins of two streams are not supported");
  EXPECT_EQ(Error(prefix + "SELECT * FROM events;"),
            "job.sql:11:1: a SELECT on its own has nowhere to write in a job file: INSERT INTO "
            "sink SELECT ..., or CREATE SINK name WITH (...) AS SELECT ... (eddy sql runs a "
            "SELECT live)");
  EXPECT_EQ(
      Error(prefix + "INSERT INTO out SELECT * FROM TUMBLE(events, event_time, INTERVAL '1' MONTH) "
                     "GROUP BY window_start, window_end;"),
      "job.sql:11:58: month and year intervals are not supported (an interval is a fixed "
      "number of microseconds: use days)");
}

TEST(SqlErrorTest, DeclarationsAndOptions) {
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafak');"),
            "job.sql:1:32: unknown connector 'kafak' for a source (expected one of: kafka, file, "
            "generator); did you mean 'kafka'?");
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafka', topik = 'x');"),
            "job.sql:1:53: unknown option 'topik' for a kafka source (expected one of: brokers, "
            "topics, group_id, start, properties.*, partitions, partitioned_by, on_lost_input, "
            "format.type, "
            "format.delimiter, "
            "format.header, format.proto_file, format.message, format.import_paths, format, "
            "event_time.idle_timeout, idle_timeout, topic); did you mean 'topic'?");
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafka', topic = 't',\n"
                  "  partitions = 'many');"),
            "job.sql:2:3: partitions: expected an integer, got 'many'");
  EXPECT_EQ(Error("CREATE SOURCE s (a money) WITH (connector = 'kafka', topic = 't');"),
            "job.sql:1:20: type money is not supported for column 'a' (boolean, bigint, double "
            "precision, text, timestamp)");
  EXPECT_EQ(Error("CREATE SOURCE s (t timestamp, WATERMARK FOR t AS t + INTERVAL '1' SECOND)\n"
                  "  WITH (connector = 'kafka', topic = 'x');"),
            "job.sql:1:52: a watermark is WATERMARK FOR t AS t - INTERVAL '...' (the bound on "
            "out-of-orderness); other watermark expressions are not supported");
  EXPECT_EQ(Error("CREATE TABLE t (a text) WITH (connector = 'kafka', topic = 'x');"),
            "job.sql:1:14: CREATE TABLE declares a table kept current from a changelog, to join "
            "against, and needs a PRIMARY KEY; a stream is CREATE SOURCE");
  EXPECT_EQ(Error("SET trigger.intervall = '1s';"),
            "job.sql:1:1: unknown setting 'trigger.intervall' (expected one of: name, description, "
            "trigger.interval, trigger.max_records_per_partition, state.dir, state.key_groups, "
            "state.block_cache, state.write_buffer, dead_letter.kafka.brokers, "
            "dead_letter.kafka.topic, dead_letter.kafka.properties.*, "
            "dead_letter.kafka.partitions, dead_letter.kafka.delivery, dead_letter.file.path, "
            "kafka.brokers, kafka.properties.*, checkpoint.every_batches, checkpoint.interval, "
            "checkpoint.keep, scale.mode, scale.instance, scale.group, scale.shared_dir, "
            "scale.session_timeout, scale.assignment); did you mean 'trigger.interval'?");
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafka', topic = 't');\n"
                  "CREATE SINK o WITH (connector = 'stdout');"),
            "job.sql:2:13: sink 'o' has no query: INSERT INTO o SELECT ...");
  EXPECT_EQ(Error("CREATE SOURCE s (a text) WITH (connector = 'kafka', topic = 't');\n"
                  "CREATE SINK o WITH (connector = 'stdout') AS SELECT * FROM t;"),
            "job.sql:2:60: unknown relation 't' (declared: s, o)");
  EXPECT_EQ(Error("CREATE SINK o FROM s WITH (connector = 'stdout');"),
            "job.sql:1:15: CREATE SINK ... FROM is not supported: write CREATE SINK name WITH "
            "(...) AS SELECT * FROM relation");
}

TEST(SqlErrorTest, StreamingClauses) {
  const std::string prefix = std::string(kEvents) +
                             "CREATE TABLE ads (ad_id text PRIMARY KEY, c text)\n"
                             "  WITH (connector = 'kafka', topic = 'ads');\n";
  // The statements below start on line 13.
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events EMIT ON WINDOW CLOSE;"),
            "job.sql:13:38: EMIT applies to a windowed aggregation (GROUP BY window_start, "
            "window_end over TUMBLE, HOP or SESSION), and this statement has none");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events EMIT NOW;"),
            "job.sql:13:43: expected ON WINDOW CLOSE or ON UPDATE after EMIT");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT ad_id, count(*) FROM events GROUP BY ad_id\n"
                           "EMIT ON WINDOW CLOSE;"),
            "job.sql:14:1: EMIT ON WINDOW CLOSE needs a window; a GROUP BY without one emits on "
            "update");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM TUMBLE(events, event_time, '10s');"),
            "job.sql:13:31: a window table function is aggregated: GROUP BY window_start, "
            "window_end (and keys), with aggregates in the select list");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT ad_id, count(*) FROM TUMBLE(events, event_time, "
                           "'10s') GROUP BY ad_id, window_start;"),
            "job.sql:13:45: a windowed aggregation groups by window_start and window_end: GROUP "
            "BY window_start, window_end[, keys]");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM ads;"),
            "job.sql:13:31: 'ads' is a table (kept from a changelog): JOIN it to a stream on its "
            "PRIMARY KEY; to read its changelog, declare a SOURCE");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM events e JOIN ads a ON e.ad_id = a.c;"),
            "job.sql:13:62: a lookup join's ON compares the table's PRIMARY KEY, a.ad_id, with an "
            "expression over the stream");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM out;"),
            "job.sql:13:31: 'out' is a sink: queries cannot read from it");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT q.ad_id FROM events;"),
            "job.sql:13:24: unknown relation 'q' in q.ad_id (the query reads events)");
  // Flink's FOR SYSTEM_TIME AS OF is accepted: every join is a lookup.
  auto job = Load(prefix +
                  "INSERT INTO out SELECT e.*, a.c FROM events AS e\n"
                  "JOIN ads FOR SYSTEM_TIME AS OF e.event_time AS a ON e.ad_id = a.ad_id;");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->spec.operators_size(), 1);
  EXPECT_EQ(job->spec.operators(0).lookup_join().columns(0), "c");
  EXPECT_EQ(job->spec.sinks(0).input(), "out_join");
}

TEST(SqlErrorTest, Models) {
  const std::string prefix =
      "CREATE SOURCE p WITH (connector = 'generator', kind = 'sea');\n"
      "CREATE SINK out WITH (connector = 'stdout');\n";
  EXPECT_EQ(Error(prefix + "CREATE MODEL m WITH (classes = 2);"),
            "job.sql:3:14: CREATE MODEL m needs USING type (sgd_regressor, sgd_classifier, kmeans, "
            "hoeffding_tree, hoeffding_adaptive_tree, hoeffding_tree_regressor)");
  EXPECT_EQ(
      Error(prefix + "CREATE MODEL m USING kmeans;\nINSERT INTO out SELECT * FROM PREDICT(m);"),
      "job.sql:4:39: PREDICT(m) needs LEARN(m, ...) first: it predicts with that learner's "
      "model");
  EXPECT_EQ(Error(prefix + "CREATE MODEL m USING hoeffding_tree;\n"
                           "CREATE VIEW a AS SELECT * FROM PREQUENTIAL(m, p, label => label);\n"
                           "INSERT INTO out SELECT * FROM PREQUENTIAL(m, p, label => label);"),
            "job.sql:5:43: model 'm' is already trained by another query (one LEARN or "
            "PREQUENTIAL per model)");
  EXPECT_EQ(Error(prefix + "CREATE MODEL m USING hoeffding_tree;\n"
                           "INSERT INTO out SELECT * FROM PREQUENTIAL(m, p, lable => label);"),
            "job.sql:4:49: unknown argument 'lable' of PREQUENTIAL (expected one of: features, "
            "label, per_key)");
  EXPECT_EQ(Error(prefix + "INSERT INTO out SELECT * FROM m.metrics;"),
            "job.sql:3:31: unknown relation 'm.metrics' (side outputs are VIEW.late and "
            "MODEL.metrics)");
}

TEST(SqlErrorTest, TypeErrorsFoundWhenPlannedPointIntoTheSql) {
  // The expression compiler reports "at N" in the generated text; the
  // error hook turns it into the SQL position.
  auto job = Load(std::string(kEvents) +
                  "INSERT INTO out SELECT ad_id FROM events\n"
                  "WHERE n > 1 AND prise > 2;");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const Status status = job->ErrorAt("operators[0].filter", "at 18: unknown column 'prise'");
  EXPECT_EQ(status.message(), "job.sql:12:17: WHERE: unknown column 'prise'");
  EXPECT_EQ(job->ErrorAt("sources[0].kafka.topics", "bad").message(),
            "job.sql:9:30: WITH option topic: bad");
}

TEST(SqlSecretsTest, InlineCredentialsAreRefused) {
  EXPECT_TRUE(
      CheckAnyJobForInlineSecrets("SET kafka.properties.\"sasl.password\" = '${P}';", "j.sql")
          .ok());
  EXPECT_EQ(CheckAnyJobForInlineSecrets(
                "CREATE SOURCE s (a text) WITH (connector = 'kafka', topic = 't',\n"
                "  properties.\"sasl.password\" = 'hunter2');",
                "j.sql")
                .message(),
            "j.sql:2:3: sasl.password: a credential must not be written in the job: take it from "
            "the environment, '${VARIABLE}' (docs/job-file.md, secrets)");
}

// The SQL twins declare the same sources, sinks and settings as the YAML
// jobs (their output is compared in tests/integration/sql_twins_test.cc).
TEST(SqlTwinTest, DeclarationsMatchTheYamlJobs) {
  for (const std::string name :
       {"ad-generator", "ad-pipeline", "ad-pipeline-sasl", "fashion-mnist-hog-forest",
        "fashion-mnist-hog-mlp", "fashion-mnist-pixels-sgd", "fashion-mnist-producer",
        "learn-agrawal-adaptive-tree", "learn-kmeans-blobs", "learn-regression",
        "learn-sea-hoeffding-tree", "learn-sea-leveraging-bagging", "learn-sgd-classifier",
        "learn-tree-regressor", "learn-windowed-accuracy", "ysb-campaign-windows"}) {
    SCOPED_TRACE(name);
    const EnvLookup env = Env({});
    auto yaml = LoadJobFile("jobs/" + name + ".yaml", env);
    auto sql = LoadAnyJobFile("jobs/" + name + ".sql", env);
    ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
    ASSERT_TRUE(sql.ok()) << sql.status().ToString();
    spec::JobSpec a = yaml->spec;
    spec::JobSpec b = sql->spec;
    a.clear_operators();
    b.clear_operators();
    for (spec::JobSpec* job : {&a, &b}) {
      for (spec::SinkSpec& sink : *job->mutable_sinks()) sink.clear_input();
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer differencer;
    differencer.ReportDifferencesToString(&diff);
    EXPECT_TRUE(differencer.Compare(a, b)) << diff;
  }
}

}  // namespace
}  // namespace eddy
