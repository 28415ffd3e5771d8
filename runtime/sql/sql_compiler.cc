// SQL statements -> spec::JobSpec. One Compiler per compilation: it parses
// the texts with PostgreSQL's grammar (after the streaming pre-pass), keeps
// a catalog of the relations the statements declare, and compiles each
// query into operators of the job's DAG (docs/sql.md, "How queries map onto
// the DAG").

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "runtime/spec/secrets.h"
#include "runtime/spec/yaml_to_proto.h"
#include "runtime/sql/pg_tree.h"
#include "runtime/sql/sql.h"
#include "runtime/sql/sql_expr.h"
#include "runtime/sql/sql_source.h"

namespace eddy {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using sql::AggregateState;
using sql::CreateKind;
using sql::EddyIdentifier;
using sql::EmitMode;
using sql::ExprScope;
using sql::ExprText;
using sql::FieldOrigin;
using sql::PgNode;
using sql::SourceText;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator = ", ") {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The text of a WITH option's or SET's value: strings as they are, numbers
// as written, bare words (`format = csv`) as the word; an option without a
// value is "true".
std::string ValueText(PgNode arg) {
  if (!arg.valid()) return "true";
  const std::string_view type = arg.type();
  if (type == "String") return std::string(arg.Str("sval"));
  if (type == "Integer") return std::to_string(arg.Int("ival"));
  if (type == "Float") return std::string(arg.Str("fval"));
  if (type == "Boolean") return arg.Bool("boolval") ? "true" : "false";
  if (type == "TypeName") {
    std::vector<std::string> names;
    for (PgNode name : arg["names"].items()) names.emplace_back(name.AsString());
    return Join(names, ".");
  }
  if (type == "A_Const") {
    if (arg["sval"].valid()) return std::string(arg["sval"].Str("sval"));
    if (arg["ival"].valid()) return std::to_string(arg["ival"].Int("ival"));
    if (arg["fval"].valid()) return std::string(arg["fval"].Str("fval"));
    if (arg["boolval"].valid()) return arg["boolval"].Bool("boolval") ? "true" : "false";
  }
  if (type == "List") {
    std::vector<std::string> parts;
    for (PgNode item : arg.items()) parts.push_back(ValueText(item));
    return Join(parts, ",");
  }
  return std::string(arg.AsString());
}

// A DefElem's full key: "namespace.name" or "name".
std::string OptionKey(PgNode def) {
  std::string key(def.Str("defname"));
  if (!def.Str("defnamespace").empty()) key = std::string(def.Str("defnamespace")) + "." + key;
  return key;
}

// How statement node types read in SQL, for "X is not supported".
std::string StatementName(std::string_view type) {
  static const std::map<std::string_view, std::string_view> kNames = {
      {"UpdateStmt", "UPDATE"},
      {"DeleteStmt", "DELETE"},
      {"MergeStmt", "MERGE"},
      {"DropStmt", "DROP"},
      {"AlterTableStmt", "ALTER TABLE"},
      {"IndexStmt", "CREATE INDEX"},
      {"CreateFunctionStmt", "CREATE FUNCTION"},
      {"CreateSchemaStmt", "CREATE SCHEMA"},
      {"TransactionStmt", "transactions (BEGIN, COMMIT)"},
      {"CopyStmt", "COPY"},
      {"TruncateStmt", "TRUNCATE"},
      {"GrantStmt", "GRANT"},
      {"CreateForeignTableStmt", "CREATE FOREIGN TABLE"},
      {"CreateTableSpaceStmt", "CREATE TABLESPACE"},
      {"CreateSeqStmt", "CREATE SEQUENCE"},
      {"RuleStmt", "CREATE RULE"},
      {"CreateTrigStmt", "CREATE TRIGGER"},
      {"DoStmt", "DO"},
      {"PrepareStmt", "PREPARE"},
      {"ExecuteStmt", "EXECUTE"},
      {"DeclareCursorStmt", "DECLARE"},
      {"VacuumStmt", "VACUUM"},
      {"RefreshMatViewStmt", "REFRESH MATERIALIZED VIEW"},
  };
  auto it = kNames.find(type);
  return it == kNames.end() ? std::string(type) : std::string(it->second);
}

// Sets the field at dotted `path` below `message` from text, as a YAML
// value would set it: map fields take the rest of the path as their key,
// repeated fields take a comma-separated list, and a message takes its
// field 1 (`format = 'csv'` sets format.type). `spec_path` gets the path
// as LoadedJob names fields. Returns what is wrong, or nullopt.
std::optional<std::string> SetPath(Message* message, std::string_view path, const std::string& text,
                                   std::string* spec_path) {
  const Descriptor* descriptor = message->GetDescriptor();
  const size_t dot = path.find('.');
  const std::string head(path.substr(0, dot));
  const FieldDescriptor* field = descriptor->FindFieldByName(head);
  if (field == nullptr || IsInternalField(field)) return "unknown";
  *spec_path += (spec_path->empty() ? "" : ".") + head;
  const google::protobuf::Reflection* reflection = message->GetReflection();
  if (field->is_map()) {
    if (dot == std::string_view::npos) return "needs a key: " + head + ".NAME";
    const std::string key(path.substr(dot + 1));
    Message* entry = reflection->AddMessage(message, field);
    const Descriptor* entry_type = field->message_type();
    entry->GetReflection()->SetString(entry, entry_type->map_key(), key);
    *spec_path += "." + key;
    return SetFieldFromText(text, entry_type->map_value(), false, entry);
  }
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (field->is_repeated()) return "unknown";
    Message* child = reflection->MutableMessage(message, field);
    if (dot == std::string_view::npos) {
      const FieldDescriptor* first = field->message_type()->FindFieldByNumber(1);
      if (first == nullptr || first->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        return "needs a field: " + head + ".NAME";
      }
      return SetPath(child, first->name(), text, spec_path);
    }
    return SetPath(child, path.substr(dot + 1), text, spec_path);
  }
  if (dot != std::string_view::npos) return "unknown";
  if (field->is_repeated()) {
    reflection->ClearField(message, field);
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      std::string item = text.substr(start, comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (auto problem = SetFieldFromText(item, field, true, message)) return problem;
      start = comma + 1;
    }
    return std::nullopt;
  }
  return SetFieldFromText(text, field, false, message);
}

// The option names a message takes, for "expected one of".
// `skip_oneofs`: leave out the members of a `kind` oneof (connectors).
void OptionNames(const Descriptor* descriptor, const std::string& prefix,
                 const std::set<std::string>& skip, std::vector<std::string>* out,
                 bool skip_oneofs = true) {
  for (int idx = 0; idx < descriptor->field_count(); ++idx) {
    const FieldDescriptor* field = descriptor->field(idx);
    const std::string name = prefix + field->name();
    if (skip.count(name) > 0 || IsInternalField(field) ||
        (skip_oneofs && field->real_containing_oneof() != nullptr)) {
      continue;
    }
    if (field->is_map()) {
      out->push_back(name + ".*");
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      OptionNames(field->message_type(), name + ".", skip, out, skip_oneofs);
      // `format = 'csv'` stands for format.type.
      if (field->message_type() == spec::FormatSpec::descriptor()) out->push_back(name);
    } else if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      out->push_back(name);
    }
  }
}

// Something a FROM clause can name.
struct Relation {
  enum class Kind { kSource, kTable, kView, kModel, kSink };
  Kind kind = Kind::kSource;
  std::string name;
  std::string node;  // the DAG node its rows come from
  int offset = 0;    // where it was declared
  // Sources and tables.
  spec::SourceSpec source;
  std::vector<std::pair<std::string, FieldOrigin>> source_origins;  // relative paths
  std::string primary_key;
  std::vector<std::string> columns;
  bool read = false;
  // Views: the windowed or keyed aggregation it ends in, for v.late.
  std::string aggregate_op;
  // Models.
  std::string model_type;
  spec::LearnSpec model;
  std::vector<std::pair<std::string, FieldOrigin>> model_origins;
  bool trained = false;
  // Sinks.
  spec::SinkSpec sink;
  std::vector<std::pair<std::string, FieldOrigin>> sink_origins;
  bool has_query = false;
};

// What a FROM item produced: the node its rows come from and the names its
// columns may be qualified with.
struct Input {
  std::string node;
  std::set<std::string> qualifiers;
  std::set<std::string> table_qualifiers;  // after a lookup join
  std::vector<std::string> table_columns;  // the join's table columns, in order ({} = all)
  bool table_all = false;
  // A window table function: the window, not yet an operator.
  std::optional<spec::WindowSpec> window;
  int window_offset = 0;
  // Learning operators and other model nodes cannot take the query's name.
  bool named = false;
};

// One query's context: the statement it is in, CTEs in scope, and names.
struct QueryContext {
  int statement_offset = 0;
  std::optional<EmitMode> emit;
  int emit_offset = 0;
  bool emit_used = false;
  std::map<std::string, std::string> ctes;  // name -> node
  // View options that apply to the aggregation of the view's query.
  std::string ttl;
  std::string allowed_lateness;
  std::string* aggregate_op = nullptr;  // set to the aggregation's operator name
};

class Compiler {
 public:
  Compiler(const SqlCompileOptions& options, const EnvLookup& env,
           std::shared_ptr<SourceText> source)
      : options_(options), env_(env), source_(std::move(source)) {}

  Status Run(CompiledSql* out) {
    std::vector<sql::PgToken> tokens;
    EDDY_ASSIGN_OR_RETURN(tokens, sql::ScanPostgres(source_->combined()));
    sql::PgSyntaxError syntax;
    if (!sql::RewriteStreamingSql(source_->combined(), tokens, &rewritten_, &syntax)) {
      return source_->Error(syntax.offset, syntax.message);
    }
    std::unique_ptr<sql::PgTree> tree;
    EDDY_ASSIGN_OR_RETURN(tree, sql::ParsePostgres(rewritten_.text, &syntax));
    if (!tree) return SyntaxError(syntax);
    for (const sql::PgStatement& statement : tree->statements) {
      EDDY_RETURN_IF_ERROR(Statement(statement, out));
    }
    return Finish(out);
  }

 private:
  // ---- positions and errors ----

  int Original(int rewritten) const { return rewritten < 0 ? 0 : rewritten_.Original(rewritten); }
  int Offset(PgNode node, int fallback) const {
    const int location = node.location();
    return location < 0 ? fallback : Original(location);
  }
  Status ErrorAt(int offset, std::string_view message) const {
    return source_->Error(offset, message);
  }
  Status ErrorAt(PgNode node, int fallback, std::string_view message) const {
    return source_->Error(Offset(node, fallback), message);
  }

  Status SyntaxError(const sql::PgSyntaxError& syntax) const {
    std::string message = syntax.message;
    const std::string& text = rewritten_.text;
    // PostgreSQL's grammar does not say what it expected; the commonest
    // slips get a hint.
    std::string near;
    if (syntax.offset < static_cast<int>(text.size())) {
      size_t end = static_cast<size_t>(syntax.offset);
      while (end < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
        ++end;
      }
      near = Lower(text.substr(syntax.offset, end - syntax.offset));
    }
    if (message.starts_with("syntax error at end of input")) {
      message += " (expected the rest of the statement)";
    } else if (near == "with" || near == "watermark") {
      message += " (WITH options follow the column list: CREATE SOURCE name (columns) WITH (...))";
    } else if (message.starts_with("syntax error")) {
      message += " (expected PostgreSQL syntax, docs/sql.md)";
    }
    return ErrorAt(Original(syntax.offset), message);
  }

  std::function<int(int)> OriginalFn() const {
    return [this](int rewritten) { return Original(rewritten); };
  }

  ExprScope Scope(const Input& input) const {
    ExprScope scope;
    scope.qualifiers = input.qualifiers;
    scope.table_qualifiers = input.table_qualifiers;
    scope.original = OriginalFn();
    scope.source = source_.get();
    return scope;
  }

  FieldOrigin Origin(int offset, std::string label, std::vector<sql::Anchor> anchors = {}) const {
    return FieldOrigin{offset, std::move(label), std::move(anchors)};
  }

  // ---- statements ----

  Status Statement(const sql::PgStatement& statement, CompiledSql* out) {
    PgNode node = statement.node;
    const std::string_view type = node.type();
    QueryContext context;
    context.statement_offset = Original(statement.location);
    // Skip the leading blanks the pre-pass or the text left.
    while (
        context.statement_offset < static_cast<int>(source_->combined().size()) &&
        std::isspace(static_cast<unsigned char>(source_->combined()[context.statement_offset]))) {
      ++context.statement_offset;
    }
    const int end = statement.length > 0 ? statement.location + statement.length
                                         : static_cast<int>(rewritten_.text.size());
    for (const auto& [at, mode] : rewritten_.emits) {
      if (at >= statement.location && at < end) {
        context.emit = mode;
        context.emit_offset = Original(at);
      }
    }
    const int at = context.statement_offset;
    Status status;
    SqlStatementKind kind = SqlStatementKind::kSet;
    if (type == "VariableSetStmt") {
      status = Set(node, at);
      kind = SqlStatementKind::kSet;
    } else if (type == "CreateStmt") {
      status = Create(node, at, &kind);
    } else if (type == "CreateTableAsStmt") {
      status = CreateSinkAs(node, context);
      kind = SqlStatementKind::kCreateSink;
    } else if (type == "ViewStmt") {
      status = CreateView(node, context);
      kind = SqlStatementKind::kCreateView;
    } else if (type == "InsertStmt") {
      status = Insert(node, context);
      kind = SqlStatementKind::kInsert;
    } else if (type == "SelectStmt") {
      status = TopSelect(node, context);
      kind = SqlStatementKind::kSelect;
    } else if (type == "ExplainStmt") {
      if (!options_.allow_select) {
        return ErrorAt(at, "EXPLAIN is for the shell (eddy sql); eddy validate prints a job's DAG");
      }
      PgNode query = node["query"];
      if (query.type() == "SelectStmt") {
        status = TopSelect(query, context);
      } else if (query.type() == "InsertStmt") {
        status = Insert(query, context);
      } else {
        return ErrorAt(at, "EXPLAIN takes a SELECT or an INSERT INTO ... SELECT");
      }
      kind = SqlStatementKind::kExplain;
    } else if (type == "VariableShowStmt") {
      if (!options_.allow_select) return ErrorAt(at, "SHOW is for the shell (eddy sql)");
      out->show = Lower(node.Str("name"));
      kind = SqlStatementKind::kShow;
    } else {
      return ErrorAt(at, StatementName(type) +
                             " statements are not supported (docs/sql.md lists "
                             "the statements a job may hold)");
    }
    EDDY_RETURN_IF_ERROR(status);
    if (context.emit && !context.emit_used) {
      return ErrorAt(context.emit_offset,
                     "EMIT applies to a windowed aggregation (GROUP BY window_start, window_end "
                     "over TUMBLE, HOP or SESSION), and this statement has none");
    }
    out->statements.push_back(kind);
    return Status::OK();
  }

  // SET path = value: a job setting (name, trigger.interval, ...).
  Status Set(PgNode node, int at) {
    const std::string_view kind = node.Str("kind");
    if (kind != "VAR_SET_VALUE") {
      return ErrorAt(at, "only SET name = value is supported (not RESET, DEFAULT or FROM CURRENT)");
    }
    std::string path(node.Str("name"));
    if (path.starts_with("job.")) path = path.substr(4);
    std::vector<std::string> values;
    for (PgNode arg : node["args"].items()) values.push_back(ValueText(arg));
    static const std::set<std::string> kNotSettable = {"sources", "operators", "sinks"};
    const std::string head = path.substr(0, path.find('.'));
    std::string spec_path;
    std::optional<std::string> problem;
    std::string text;
    if (kNotSettable.count(head) > 0) {
      problem = "unknown";
    } else {
      Result<std::string> substituted = SubstituteEnv(Join(values, ","), env_);
      if (!substituted.ok()) return ErrorAt(at, substituted.status().message());
      text = *substituted;
      problem = SetPath(&spec_, path, text, &spec_path);
    }
    if (problem && *problem == "unknown") {
      std::vector<std::string> names;
      OptionNames(spec::JobSpec::descriptor(), "", kNotSettable, &names, /*skip_oneofs=*/false);
      names.erase(std::remove_if(names.begin(), names.end(),
                                 [&](const std::string& name) { return kNotSettable.count(name); }),
                  names.end());
      std::string message = "unknown setting '" + path + "' (expected one of: " + Join(names) + ")";
      if (auto suggestion = ClosestName(path, names))
        message += "; did you mean '" + *suggestion + "'?";
      return ErrorAt(at, message);
    }
    if (problem) return ErrorAt(at, "SET " + path + ": " + *problem);
    if (path == "name") name_set_ = true;
    source_->origins[spec_path] = Origin(at, "SET " + path);
    return Status::OK();
  }

  Status CheckNewName(const std::string& name, int at) {
    auto it = relations_.find(name);
    if (it != relations_.end()) {
      return ErrorAt(at, "'" + name + "' is already declared (at " +
                             source_->Position(it->second.offset) + ")");
    }
    if (name.empty()) return ErrorAt(at, "a name is required");
    return Status::OK();
  }

  Status RelationName(PgNode range_var, int at, std::string* name) {
    if (!range_var["schemaname"].AsString().empty() ||
        !range_var["catalogname"].AsString().empty()) {
      return ErrorAt(range_var, at, "qualified names (schema.name) are not supported here");
    }
    *name = std::string(range_var.Str("relname"));
    return Status::OK();
  }

  // CREATE SOURCE / CREATE TABLE / CREATE SINK (declared) / CREATE MODEL.
  Status Create(PgNode node, int at, SqlStatementKind* kind) {
    PgNode relation = node["relation"];
    std::string name;
    EDDY_RETURN_IF_ERROR(RelationName(relation, at, &name));
    const int name_at = Offset(relation, at);
    auto marker = rewritten_.creates.find(relation.location());
    const std::optional<CreateKind> created =
        marker == rewritten_.creates.end() ? std::nullopt : std::optional(marker->second);
    if (relation.Str("relpersistence") == "t") {
      return ErrorAt(at, "temporary tables are not supported");
    }
    if (node["inhRelations"].valid() || node["partspec"].valid() || node["ofTypename"].valid()) {
      return ErrorAt(at, "INHERITS, PARTITION BY and OF are not supported");
    }
    EDDY_RETURN_IF_ERROR(CheckNewName(name, name_at));
    if (created == CreateKind::kModel) {
      *kind = SqlStatementKind::kCreateModel;
      return CreateModel(node, name, name_at);
    }
    if (!node.Str("accessMethod").empty()) {
      return ErrorAt(at, "USING is only taken by CREATE MODEL");
    }
    if (created == CreateKind::kSink) {
      *kind = SqlStatementKind::kCreateSink;
      Relation sink;
      sink.kind = Relation::Kind::kSink;
      if (!node["tableElts"].items().empty()) {
        return ErrorAt(at, "a sink has no column list: it writes the columns of its query");
      }
      EDDY_RETURN_IF_ERROR(SinkOptions(node["options"], name, name_at, &sink));
      return Declare(std::move(sink), name, name_at);
    }
    *kind = created == CreateKind::kSource ? SqlStatementKind::kCreateSource
                                           : SqlStatementKind::kCreateTable;
    return CreateSource(node, name, name_at, created == CreateKind::kSource);
  }

  Status Declare(Relation relation, const std::string& name, int at) {
    relation.name = name;
    relation.offset = at;
    if (relation.node.empty()) relation.node = name;
    order_.push_back(name);
    relations_[name] = std::move(relation);
    return Status::OK();
  }

  Status CreateSource(PgNode node, const std::string& name, int at, bool is_source) {
    Relation relation;
    relation.kind = is_source ? Relation::Kind::kSource : Relation::Kind::kTable;
    spec::SourceSpec& source = relation.source;
    source.set_name(name);
    for (PgNode element : node["tableElts"].items()) {
      if (element.type() == "ColumnDef") {
        EDDY_RETURN_IF_ERROR(Column(element, at, &relation));
      } else if (element.type() == "Constraint") {
        const std::string_view contype = element.Str("contype");
        if (contype == "CONSTR_CHECK" && rewritten_.watermarks.count(element.location()) > 0) {
          EDDY_RETURN_IF_ERROR(Watermark(element, Offset(element, at), &relation));
        } else if (contype == "CONSTR_PRIMARY") {
          const std::vector<PgNode> keys = element["keys"].items();
          if (keys.size() != 1) {
            return ErrorAt(element, at, "a PRIMARY KEY is one column (the key lookups join on)");
          }
          if (!relation.primary_key.empty()) return ErrorAt(element, at, "two primary keys");
          relation.primary_key = std::string(keys[0].AsString());
        } else {
          return ErrorAt(element, at,
                         "table constraints other than PRIMARY KEY and WATERMARK FOR are not "
                         "supported");
        }
      } else {
        return ErrorAt(element, at, "LIKE in a column list is not supported");
      }
    }
    if (is_source && !relation.primary_key.empty()) {
      return ErrorAt(at,
                     "a source is a stream and has no PRIMARY KEY; a table to join against is "
                     "CREATE TABLE name (..., PRIMARY KEY (column)) WITH (...)");
    }
    if (!is_source && relation.primary_key.empty()) {
      return ErrorAt(at,
                     "CREATE TABLE declares a table kept current from a changelog, to join "
                     "against, and needs a PRIMARY KEY; a stream is CREATE SOURCE");
    }
    EDDY_RETURN_IF_ERROR(SourceOptions(node["options"], at, &relation));
    if (source.has_generator() && source.schema_size() > 0) {
      return ErrorAt(at,
                     "a generator source has its own columns (docs/generators.md): leave out the "
                     "column list");
    }
    return Declare(std::move(relation), name, at);
  }

  Status Column(PgNode column, int at, Relation* relation) {
    spec::ColumnSpec* spec_column = relation->source.add_schema();
    const std::string name(column.Str("colname"));
    spec_column->set_name(name);
    const int column_at = Offset(column, at);
    PgNode type_name = column["typeName"];
    std::vector<PgNode> names = type_name["names"].items();
    const std::string type = names.empty() ? "" : Lower(names.back().AsString());
    static const std::map<std::string, std::string, std::less<>> kTypes = {
        {"bool", "bool"},     {"int2", "int64"},          {"int4", "int64"},
        {"int8", "int64"},    {"int64", "int64"},         {"float4", "double"},
        {"float8", "double"}, {"double", "double"},       {"numeric", "double"},
        {"text", "string"},   {"varchar", "string"},      {"bpchar", "string"},
        {"string", "string"}, {"timestamp", "timestamp"}, {"timestamptz", "timestamp"}};
    auto it = kTypes.find(type);
    if (it == kTypes.end() || !type_name["arrayBounds"].items().empty()) {
      return ErrorAt(type_name, column_at,
                     "type " +
                         (names.empty() ? std::string("?") : std::string(names.back().AsString())) +
                         " is not supported for column '" + name +
                         "' (boolean, bigint, double precision, text, timestamp)");
    }
    spec_column->set_type(it->second);
    // PostgreSQL's rule: a column may be NULL unless declared NOT NULL.
    spec_column->set_nullable(true);
    const std::string path = ".schema[" + std::to_string(relation->source.schema_size() - 1) + "]";
    relation->source_origins.push_back({path, Origin(column_at, "column " + name)});
    relation->columns.push_back(name);
    for (PgNode constraint : column["constraints"].items()) {
      const std::string_view contype = constraint.Str("contype");
      if (contype == "CONSTR_NOTNULL") {
        spec_column->set_nullable(false);
      } else if (contype == "CONSTR_NULL") {
        spec_column->set_nullable(true);
      } else if (contype == "CONSTR_PRIMARY") {
        if (!relation->primary_key.empty()) return ErrorAt(constraint, at, "two primary keys");
        relation->primary_key = name;
      } else {
        return ErrorAt(constraint, column_at,
                       "column constraints other than NOT NULL, NULL and PRIMARY KEY are not "
                       "supported");
      }
    }
    return Status::OK();
  }

  // WATERMARK FOR col AS col [- INTERVAL '...']: the source's event time.
  Status Watermark(PgNode constraint, int at, Relation* relation) {
    const std::string column(constraint.Str("conname"));
    if (relation->source.has_event_time()) return ErrorAt(at, "a source has one WATERMARK FOR");
    PgNode expr = constraint["raw_expr"];
    auto is_column = [&](PgNode node) {
      const std::vector<PgNode> fields = node["fields"].items();
      return node.type() == "ColumnRef" && fields.size() == 1 && fields[0].AsString() == column;
    };
    std::string bound;  // WATERMARK FOR c AS c: no bound (0s)
    if (!is_column(expr)) {
      const std::vector<PgNode> names = expr["name"].items();
      if (expr.type() != "A_Expr" || names.empty() || names.back().AsString() != "-" ||
          !is_column(expr["lexpr"])) {
        return ErrorAt(expr, at,
                       "a watermark is WATERMARK FOR " + column + " AS " + column +
                           " - INTERVAL '...' (the bound on out-of-orderness); other watermark "
                           "expressions are not supported");
      }
      ExprScope scope;
      scope.original = OriginalFn();
      scope.source = source_.get();
      EDDY_ASSIGN_OR_RETURN(bound, sql::DurationText(expr["rexpr"], scope));
    }
    spec::EventTimeSpec* time = relation->source.mutable_event_time();
    time->set_column(column);
    if (!bound.empty()) time->set_max_out_of_orderness(bound);
    relation->source_origins.push_back({".event_time", Origin(at, "WATERMARK FOR " + column)});
    return Status::OK();
  }

  // WITH (connector = ..., ...) of a source or table.
  Status SourceOptions(PgNode options, int at, Relation* relation) {
    spec::SourceSpec& source = relation->source;
    static const std::map<std::string, std::string> kAliases = {
        {"topic", "topics"}, {"idle_timeout", "event_time.idle_timeout"}};
    static const std::set<std::string> kSkip = {"name", "schema", "event_time.column",
                                                "event_time.max_out_of_orderness"};
    return ConnectorOptions(options, at, "source", &source, kAliases, kSkip,
                            &relation->source_origins);
  }

  Status SinkOptions(PgNode options, const std::string& name, int at, Relation* sink) {
    sink->sink.set_name(name);
    static const std::map<std::string, std::string> kAliases = {};
    static const std::set<std::string> kSkip = {"name", "input"};
    return ConnectorOptions(options, at, "sink", &sink->sink, kAliases, kSkip, &sink->sink_origins);
  }

  // The options of a source or sink: `connector` picks the member of the
  // `kind` oneof; every other key is a field path, first of the connector's
  // message, then of the source or sink itself.
  Status ConnectorOptions(PgNode options, int at, std::string_view what, Message* message,
                          const std::map<std::string, std::string>& aliases,
                          const std::set<std::string>& skip,
                          std::vector<std::pair<std::string, FieldOrigin>>* origins) {
    const Descriptor* descriptor = message->GetDescriptor();
    const google::protobuf::OneofDescriptor* oneof = descriptor->FindOneofByName("kind");
    std::vector<std::string> connectors;
    for (int idx = 0; idx < oneof->field_count(); ++idx)
      connectors.push_back(oneof->field(idx)->name());
    const std::vector<PgNode> defs = options.items();
    const FieldDescriptor* connector = nullptr;
    std::set<std::string> seen;
    for (PgNode def : defs) {
      const std::string key = OptionKey(def);
      const int def_at = Offset(def, at);
      if (!seen.insert(key).second) return ErrorAt(def_at, "option '" + key + "' is given twice");
      if (key != "connector") continue;
      const std::string value = Lower(ValueText(def["arg"]));
      connector = descriptor->FindFieldByName(value);
      if (connector == nullptr || connector->real_containing_oneof() != oneof) {
        std::string message = "unknown connector '" + value + "' for a " + std::string(what) +
                              " (expected one of: " + Join(connectors) + ")";
        if (auto suggestion = ClosestName(value, connectors)) {
          message += "; did you mean '" + *suggestion + "'?";
        }
        return ErrorAt(def_at, message);
      }
      message->GetReflection()->MutableMessage(message, connector);
      origins->push_back({"." + value, Origin(def_at, "connector " + value)});
    }
    if (connector == nullptr) {
      return ErrorAt(at, "a " + std::string(what) +
                             " needs WITH (connector = '...', ...): one of " + Join(connectors));
    }
    Message* connector_message = message->GetReflection()->MutableMessage(message, connector);
    for (PgNode def : defs) {
      std::string key = OptionKey(def);
      if (key == "connector") continue;
      const int def_at = Offset(def, at);
      if (def.Str("defaction") != "DEFELEM_UNSPEC" && !def.Str("defaction").empty()) {
        return ErrorAt(def_at, "SET/ADD/DROP options are not supported");
      }
      Result<std::string> value = SubstituteEnv(ValueText(def["arg"]), env_);
      if (!value.ok()) return ErrorAt(def_at, key + ": " + value.status().message());
      auto alias = aliases.find(key);
      const std::string path = alias == aliases.end() ? key : alias->second;
      std::string spec_path = connector->name();
      std::optional<std::string> problem = "unknown";
      if (skip.count(path) == 0) {
        problem = SetPath(connector_message, path, *value, &spec_path);
        if (problem && *problem == "unknown" && path.substr(0, path.find('.')) != "kind") {
          spec_path.clear();
          const FieldDescriptor* top = descriptor->FindFieldByName(path.substr(0, path.find('.')));
          if (top != nullptr && top->real_containing_oneof() == nullptr) {
            problem = SetPath(message, path, *value, &spec_path);
          }
        }
      }
      if (problem && *problem == "unknown") {
        std::vector<std::string> names;
        OptionNames(connector->message_type(), "", {}, &names);
        std::vector<std::string> own;
        OptionNames(descriptor, "", skip, &own);
        for (const std::string& name : own) {
          if (std::find(connectors.begin(), connectors.end(), name.substr(0, name.find('.'))) ==
              connectors.end()) {
            names.push_back(name);
          }
        }
        for (const auto& [from, to] : aliases) {
          if (std::find(names.begin(), names.end(), to) != names.end()) names.push_back(from);
        }
        std::string message = "unknown option '" + key + "' for a " + connector->name() + " " +
                              std::string(what) + " (expected one of: " + Join(names) + ")";
        if (auto suggestion = ClosestName(key, names)) {
          message += "; did you mean '" + *suggestion + "'?";
        }
        return ErrorAt(def_at, message);
      }
      if (problem) return ErrorAt(def_at, key + ": " + *problem);
      origins->push_back({"." + spec_path, Origin(def_at, "WITH option " + key)});
    }
    return Status::OK();
  }

  // CREATE MODEL name USING type WITH (hyper-parameters and learning options).
  Status CreateModel(PgNode node, const std::string& name, int at) {
    Relation model;
    model.kind = Relation::Kind::kModel;
    model.model_type = std::string(node.Str("accessMethod"));
    if (model.model_type.empty()) {
      return ErrorAt(at, "CREATE MODEL " + name +
                             " needs USING type (sgd_regressor, sgd_classifier, kmeans, "
                             "hoeffding_tree, hoeffding_adaptive_tree, hoeffding_tree_regressor)");
    }
    model.model.set_model(model.model_type);
    model.model_origins.push_back({".model", Origin(at, "CREATE MODEL " + name)});
    static const std::set<std::string> kLearnFields = {"categorical", "categories", "standardize",
                                                       "metrics_window", "model_commit"};
    for (PgNode def : node["options"].items()) {
      const std::string key = OptionKey(def);
      const int def_at = Offset(def, at);
      Result<std::string> value = SubstituteEnv(ValueText(def["arg"]), env_);
      if (!value.ok()) return ErrorAt(def_at, key + ": " + value.status().message());
      std::string spec_path;
      std::optional<std::string> problem;
      if (kLearnFields.count(key) > 0) {
        problem = SetPath(&model.model, key, *value, &spec_path);
      } else {
        const std::string option = key.starts_with("options.") ? key.substr(8) : key;
        (*model.model.mutable_options())[option] = *value;
        spec_path = "options." + option;
      }
      if (problem) return ErrorAt(def_at, key + ": " + *problem);
      model.model_origins.push_back({"." + spec_path, Origin(def_at, "WITH option " + key)});
    }
    return Declare(std::move(model), name, at);
  }

  // CREATE SINK name WITH (...) AS query (PostgreSQL's CREATE TABLE AS).
  Status CreateSinkAs(PgNode node, QueryContext& context) {
    PgNode into = node["into"];
    PgNode relation = into["rel"];
    const int at = context.statement_offset;
    if (rewritten_.creates.count(relation.location()) == 0) {
      return ErrorAt(at,
                     "CREATE TABLE ... AS is not supported: a query's results go to a sink, "
                     "CREATE SINK name WITH (connector = ...) AS SELECT ...");
    }
    std::string name;
    EDDY_RETURN_IF_ERROR(RelationName(relation, at, &name));
    const int name_at = Offset(relation, at);
    EDDY_RETURN_IF_ERROR(CheckNewName(name, name_at));
    Relation sink;
    sink.kind = Relation::Kind::kSink;
    EDDY_RETURN_IF_ERROR(SinkOptions(into["options"], name, name_at, &sink));
    EDDY_RETURN_IF_ERROR(Declare(std::move(sink), name, name_at));
    return FeedSink(name, node["query"], name_at, context);
  }

  Status FeedSink(const std::string& name, PgNode query, int at, QueryContext& context) {
    std::string node;
    EDDY_ASSIGN_OR_RETURN(node, Query(query, name, "", context));
    Relation& sink = relations_[name];
    sink.sink.set_input(node);
    sink.sink_origins.push_back({".input", Origin(at, "the query of sink " + name)});
    sink.has_query = true;
    return Status::OK();
  }

  Status Insert(PgNode node, QueryContext& context) {
    const int at = context.statement_offset;
    PgNode relation = node["relation"];
    std::string name;
    EDDY_RETURN_IF_ERROR(RelationName(relation, at, &name));
    const int name_at = Offset(relation, at);
    auto it = relations_.find(name);
    if (it == relations_.end() || it->second.kind != Relation::Kind::kSink) {
      return ErrorAt(name_at, "INSERT INTO needs a sink: '" + name +
                                  "' is not one (declare it with CREATE SINK " + name +
                                  " WITH (connector = ...))");
    }
    if (it->second.has_query) {
      return ErrorAt(name_at,
                     "sink '" + name + "' already has a query; combine the queries with UNION ALL");
    }
    if (!node["cols"].items().empty()) {
      return ErrorAt(name_at,
                     "INSERT INTO sink (columns) is not supported: a sink writes every "
                     "column of its query");
    }
    if (node["onConflictClause"].valid() || !node["returningList"].items().empty()) {
      return ErrorAt(name_at, "ON CONFLICT and RETURNING are not supported");
    }
    if (!node["selectStmt"].valid()) return ErrorAt(name_at, "INSERT needs a SELECT");
    return FeedSink(name, node["selectStmt"], name_at, context);
  }

  Status CreateView(PgNode node, QueryContext& context) {
    PgNode view = node["view"];
    const int at = context.statement_offset;
    std::string name;
    EDDY_RETURN_IF_ERROR(RelationName(view, at, &name));
    const int name_at = Offset(view, at);
    EDDY_RETURN_IF_ERROR(CheckNewName(name, name_at));
    if (!node["aliases"].items().empty()) {
      return ErrorAt(name_at, "a view's column names come from its query (use AS there)");
    }
    for (PgNode def : node["options"].items()) {
      const std::string key = OptionKey(def);
      const int def_at = Offset(def, at);
      const std::string value = ValueText(def["arg"]);
      if (key == "ttl") {
        context.ttl = value;
        ttl_offset_ = def_at;
      } else if (key == "allowed_lateness") {
        context.allowed_lateness = value;
        lateness_offset_ = def_at;
      } else {
        return ErrorAt(def_at,
                       "unknown view option '" + key + "' (expected ttl or allowed_lateness)");
      }
    }
    Relation relation;
    relation.kind = Relation::Kind::kView;
    context.aggregate_op = &relation.aggregate_op;
    EDDY_ASSIGN_OR_RETURN(relation.node, Query(node["query"], name, name, context));
    context.aggregate_op = nullptr;
    return Declare(std::move(relation), name, name_at);
  }

  // A SELECT on its own: the shell's live query, written to `result`.
  Status TopSelect(PgNode node, QueryContext& context) {
    const int at = context.statement_offset;
    if (!options_.allow_select) {
      return ErrorAt(at,
                     "a SELECT on its own has nowhere to write in a job file: INSERT INTO sink "
                     "SELECT ..., or CREATE SINK name WITH (...) AS SELECT ... (eddy sql runs a "
                     "SELECT live)");
    }
    std::string input;
    EDDY_ASSIGN_OR_RETURN(input, Query(node, "result", "", context));
    Relation sink;
    sink.kind = Relation::Kind::kSink;
    sink.sink.set_name(UniqueName("result"));
    sink.sink.set_input(input);
    sink.sink.mutable_stdout();
    sink.sink_origins.push_back({"", Origin(at, "SELECT")});
    sink.has_query = true;
    const std::string name = sink.sink.name();
    return Declare(std::move(sink), name, at);
  }

  // ---- queries ----

  std::string UniqueName(const std::string& base) {
    auto taken = [&](const std::string& name) {
      return relations_.count(name) > 0 || node_names_.count(name) > 0;
    };
    if (!taken(base)) return base;
    for (int suffix = 2;; ++suffix) {
      const std::string name = base + "_" + std::to_string(suffix);
      if (!taken(name)) return name;
    }
  }

  // Adds an operator; returns its name.
  std::string AddOperator(spec::OperatorSpec op, const std::string& base,
                          std::vector<std::pair<std::string, FieldOrigin>> origins, int at,
                          std::string label) {
    if (op.name().empty()) op.set_name(UniqueName(base));
    node_names_.insert(op.name());
    const std::string path = "operators[" + std::to_string(spec_.operators_size()) + "]";
    source_->origins[path] = Origin(at, std::move(label));
    for (auto& [field, origin] : origins) source_->origins[path + field] = std::move(origin);
    *spec_.add_operators() = std::move(op);
    return spec_.operators(spec_.operators_size() - 1).name();
  }

  // Gives the last operator `name` when it was created for this query.
  std::string NameResult(const std::string& node, const std::string& name, int first_op) {
    if (name.empty() || spec_.operators_size() <= first_op) return node;
    spec::OperatorSpec* last = spec_.mutable_operators(spec_.operators_size() - 1);
    if (last->name() != node || last->has_prequential() || last->has_learn()) return node;
    if (relations_.count(name) > 0 || node_names_.count(name) > 0) return node;
    node_names_.erase(node);
    node_names_.insert(name);
    last->set_name(name);
    return name;
  }

  // Compiles a query; returns the node its rows come from. Operators are
  // named `target`_where, ...; the last one `name` when given.
  Result<std::string> Query(PgNode select, const std::string& target, const std::string& name,
                            QueryContext& context) {
    const int first_op = spec_.operators_size();
    std::string node;
    EDDY_ASSIGN_OR_RETURN(node, QueryBody(select, target, context));
    const std::string named = NameResult(node, name, first_op);
    if (context.aggregate_op != nullptr && *context.aggregate_op == node) {
      *context.aggregate_op = named;
    }
    return named;
  }

  Status Unsupported(PgNode select, int at) {
    if (!select["distinctClause"].items().empty() || select["distinctClause"].valid()) {
      return ErrorAt(at, "SELECT DISTINCT is not supported (use GROUP BY)");
    }
    if (select["sortClause"].valid()) {
      return ErrorAt(at, "ORDER BY is not supported: a stream has no end to sort by");
    }
    if (select["limitCount"].valid() || select["limitOffset"].valid()) {
      return ErrorAt(at, "LIMIT and OFFSET are not supported on streams");
    }
    if (select["lockingClause"].valid()) return ErrorAt(at, "FOR UPDATE/SHARE is not supported");
    if (select["windowClause"].valid()) {
      return ErrorAt(at,
                     "window functions OVER (...) are not supported: aggregate over TUMBLE, "
                     "HOP or SESSION windows with GROUP BY window_start, window_end");
    }
    if (select["intoClause"].valid()) return ErrorAt(at, "SELECT INTO is not supported");
    if (select["valuesLists"].valid()) {
      return ErrorAt(at, "VALUES is not supported: a job reads its rows from sources");
    }
    return Status::OK();
  }

  Result<std::string> QueryBody(PgNode select, const std::string& target, QueryContext& context) {
    const int at = context.statement_offset;
    PgNode with = select["withClause"];
    std::map<std::string, std::string> saved_ctes = context.ctes;
    if (with.valid()) {
      if (with.Bool("recursive")) return ErrorAt(with, at, "WITH RECURSIVE is not supported");
      for (PgNode cte : with["ctes"].items()) {
        const std::string cte_name(cte.Str("ctename"));
        const int cte_at = Offset(cte, at);
        if (!cte["aliascolnames"].items().empty()) {
          return ErrorAt(cte_at, "column names after a WITH name are not supported (use AS)");
        }
        std::string* saved_op = context.aggregate_op;
        context.aggregate_op = nullptr;
        std::string node;
        EDDY_ASSIGN_OR_RETURN(
            node, Query(cte["ctequery"], target + "_" + cte_name, UniqueName(cte_name), context));
        context.aggregate_op = saved_op;
        context.ctes[cte_name] = node;
      }
    }
    const std::string_view op = select.Str("op");
    Result<std::string> result = Status::OK();
    if (op == "SETOP_UNION") {
      if (!select.Bool("all")) {
        return ErrorAt(at, "UNION removes duplicates, which a stream cannot: use UNION ALL");
      }
      std::vector<std::string> inputs;
      EDDY_RETURN_IF_ERROR(UnionArms(select, target, context, &inputs));
      spec::OperatorSpec union_op;
      union_op.mutable_union_();
      for (const std::string& input : inputs) union_op.add_inputs(input);
      result = AddOperator(std::move(union_op), target + "_union", {}, at, "UNION ALL");
    } else if (op == "SETOP_INTERSECT" || op == "SETOP_EXCEPT") {
      return ErrorAt(at, Upper(op.substr(6)) + " is not supported (only UNION ALL)");
    } else {
      result = SimpleSelect(select, target, context);
    }
    context.ctes = saved_ctes;
    return result;
  }

  Status UnionArms(PgNode select, const std::string& target, QueryContext& context,
                   std::vector<std::string>* inputs) {
    for (const char* side : {"larg", "rarg"}) {
      PgNode arm = select[side];
      if (arm.Str("op") == "SETOP_UNION" && arm.Bool("all") && !arm["withClause"].valid()) {
        EDDY_RETURN_IF_ERROR(UnionArms(arm, target, context, inputs));
        continue;
      }
      std::string node;
      EDDY_ASSIGN_OR_RETURN(
          node, Query(arm, target + "_u" + std::to_string(inputs->size()), "", context));
      inputs->push_back(node);
    }
    return Status::OK();
  }

  // A FROM name: CTE, view, source, table, model (its learner) or a side
  // output "x.late" / "x.metrics".
  Result<Input> Named(PgNode range_var, int at, const QueryContext& context) {
    const std::string alias(range_var["alias"].Str("aliasname"));
    Input input;
    EDDY_ASSIGN_OR_RETURN(
        input, Lookup(std::string(range_var.Str("schemaname")),
                      std::string(range_var.Str("relname")), Offset(range_var, at), context));
    if (!alias.empty()) input.qualifiers = {alias};
    return input;
  }

  Result<Input> FromItem(PgNode item, const std::string& target, QueryContext& context) {
    const int at = context.statement_offset;
    const std::string_view type = item.type();
    if (type == "RangeVar") return Named(item, at, context);
    if (type == "RangeSubselect") {
      if (item.Bool("lateral")) return ErrorAt(at, "LATERAL is not supported");
      const std::string alias(item["alias"].Str("aliasname"));
      std::string* saved_op = context.aggregate_op;
      context.aggregate_op = nullptr;
      Input input;
      EDDY_ASSIGN_OR_RETURN(
          input.node,
          Query(item["subquery"], target + "_" + (alias.empty() ? "sub" : alias), "", context));
      context.aggregate_op = saved_op;
      if (!alias.empty()) input.qualifiers = {alias};
      return input;
    }
    if (type == "RangeFunction") return TableFunction(item, target, context);
    if (type == "JoinExpr") return LookupJoin(item, target, context);
    return ErrorAt(item, at, std::string(type) + " in FROM is not supported");
  }

  // Named and positional arguments of a table function call.
  struct CallArgs {
    std::vector<PgNode> positional;
    std::map<std::string, PgNode> named;
  };
  Result<CallArgs> Arguments(PgNode call, int at, const std::string& function,
                             const std::set<std::string>& allowed) {
    CallArgs args;
    for (PgNode arg : call["args"].items()) {
      if (arg.type() == "NamedArgExpr") {
        const std::string name(arg.Str("name"));
        if (allowed.count(name) == 0) {
          std::vector<std::string> names(allowed.begin(), allowed.end());
          return ErrorAt(
              arg, at,
              "unknown argument '" + name + "' of " + function +
                  (names.empty() ? " (it takes none)" : " (expected one of: " + Join(names) + ")"));
        }
        args.named[name] = arg["arg"];
      } else {
        if (!args.named.empty()) {
          return ErrorAt(arg, at, "positional arguments come before named ones");
        }
        args.positional.push_back(arg);
      }
    }
    return args;
  }

  // The relation named by a table function's argument (parsed as a
  // column reference).
  Result<Input> RelationArgument(PgNode arg, int at, const std::string& function,
                                 const QueryContext& context) {
    const std::vector<PgNode> fields = arg["fields"].items();
    if (arg.type() != "ColumnRef" || fields.empty() || fields.size() > 2 ||
        fields.back().type() == "A_Star") {
      return ErrorAt(arg, at, function + " reads a source, view or WITH query, named by its name");
    }
    return Lookup(fields.size() == 2 ? std::string(fields[0].AsString()) : std::string(),
                  std::string(fields.back().AsString()), Offset(arg, at), context);
  }

  // A FROM name: CTE, view, source, table, model (its learner) or a side
  // output "x.late" / "x.metrics".
  Result<Input> Lookup(const std::string& schema, const std::string& name, int at,
                       const QueryContext& context) {
    Input input;
    input.qualifiers = {name};
    if (!schema.empty()) {
      // v.late: the late rows of view v's windowed aggregation; m.metrics:
      // the prequential metrics of model m.
      std::string base;
      if (auto cte = context.ctes.find(schema); cte != context.ctes.end()) base = cte->second;
      auto it = relations_.find(schema);
      if (it != relations_.end() && it->second.kind == Relation::Kind::kView) {
        base = it->second.aggregate_op.empty() ? it->second.node : it->second.aggregate_op;
      }
      if (it != relations_.end() && it->second.kind == Relation::Kind::kModel) base = schema;
      if (base.empty() || (name != "late" && name != "metrics")) {
        return ErrorAt(at, "unknown relation '" + schema + "." + name +
                               "' (side outputs are VIEW.late and MODEL.metrics)");
      }
      input.node = base + "." + name;
      input.qualifiers = {name, schema};
      return input;
    }
    if (auto cte = context.ctes.find(name); cte != context.ctes.end()) {
      input.node = cte->second;
      return input;
    }
    auto it = relations_.find(name);
    if (it == relations_.end()) {
      std::vector<std::string> names(order_.begin(), order_.end());
      for (const auto& [cte_name, node] : context.ctes) names.push_back(cte_name);
      std::string message = "unknown relation '" + name + "'";
      if (auto suggestion = ClosestName(name, names)) {
        message += "; did you mean '" + *suggestion + "'?";
      } else if (!names.empty()) {
        message += " (declared: " + Join(names) + ")";
      }
      return ErrorAt(at, message);
    }
    Relation& relation = it->second;
    switch (relation.kind) {
      case Relation::Kind::kSink:
        return ErrorAt(at, "'" + name + "' is a sink: queries cannot read from it");
      case Relation::Kind::kModel:
        if (!relation.trained) {
          return ErrorAt(at, "model '" + name +
                                 "' has no rows yet: read it after LEARN or "
                                 "PREQUENTIAL");
        }
        break;
      case Relation::Kind::kTable:
        return ErrorAt(at, "'" + name +
                               "' is a table (kept from a changelog): JOIN it to a stream on its "
                               "PRIMARY KEY; to read its changelog, declare a SOURCE");
      case Relation::Kind::kSource:
        relation.read = true;
        break;
      case Relation::Kind::kView:
        break;
    }
    input.node = relation.node;
    return input;
  }

  Result<Input> TableFunction(PgNode item, const std::string& target, QueryContext& context) {
    const int at = context.statement_offset;
    if (item.Bool("lateral") || item.Bool("ordinality") || item.Bool("is_rowsfrom")) {
      return ErrorAt(at, "LATERAL, WITH ORDINALITY and ROWS FROM are not supported");
    }
    const std::vector<PgNode> functions = item["functions"].items();
    if (functions.size() != 1) return ErrorAt(at, "one table function per FROM item");
    PgNode call = functions[0].items().at(0);
    const std::string function = sql::FunctionName(call);
    const std::string upper = Upper(function);
    const int call_at = Offset(call, at);
    const std::string alias(item["alias"].Str("aliasname"));
    if (function == "tumble" || function == "hop" || function == "session") {
      CallArgs args;
      EDDY_ASSIGN_OR_RETURN(args, Arguments(call, at, upper, {"allowed_lateness"}));
      const size_t expected = function == "hop" ? 4 : 3;
      if (args.positional.size() != expected) {
        static const std::map<std::string, std::string> kForms = {
            {"tumble", "TUMBLE(stream, time_column, INTERVAL '10' SECOND)"},
            {"hop", "HOP(stream, time_column, slide, size)"},
            {"session", "SESSION(stream, time_column, gap)"}};
        return ErrorAt(call_at, upper + " takes " + std::to_string(expected) +
                                    " arguments: " + kForms.at(function));
      }
      Input input;
      EDDY_ASSIGN_OR_RETURN(input, RelationArgument(args.positional[0], at, upper, context));
      if (!alias.empty()) input.qualifiers.insert(alias);
      spec::WindowSpec window;
      const std::vector<PgNode> time_fields = args.positional[1]["fields"].items();
      if (args.positional[1].type() != "ColumnRef" || time_fields.empty()) {
        return ErrorAt(args.positional[1], at, upper + "'s second argument is the time column");
      }
      window.set_time_column(std::string(time_fields.back().AsString()));
      ExprScope scope = Scope(input);
      std::string first, second;
      EDDY_ASSIGN_OR_RETURN(first, sql::DurationText(args.positional[2], scope));
      if (function == "tumble") {
        window.set_type("tumbling");
        window.set_size(first);
      } else if (function == "hop") {
        EDDY_ASSIGN_OR_RETURN(second, sql::DurationText(args.positional[3], scope));
        window.set_type("sliding");
        window.set_slide(first);
        window.set_size(second);
      } else {
        window.set_type("session");
        window.set_gap(first);
      }
      if (auto lateness = args.named.find("allowed_lateness"); lateness != args.named.end()) {
        std::string text;
        EDDY_ASSIGN_OR_RETURN(text, sql::DurationText(lateness->second, scope));
        window.set_allowed_lateness(text);
      }
      input.window = window;
      input.window_offset = call_at;
      return input;
    }
    if (function == "learn" || function == "prequential" || function == "predict") {
      return Learning(call, function, alias, context);
    }
    if (function == "image_features") return ImageFeatures(call, target, alias, context);
    return ErrorAt(call_at, "table function " + function +
                                " is not supported (TUMBLE, HOP, SESSION, LEARN, PREQUENTIAL, "
                                "PREDICT, IMAGE_FEATURES)");
  }

  // IMAGE_FEATURES(stream, image, resize => '28x28', ...): an
  // image_features operator on column `image`; each named argument is the
  // ImageFeaturesSpec field of that name (docs/images.md).
  Result<Input> ImageFeatures(PgNode call, const std::string& target, const std::string& alias,
                              QueryContext& context) {
    const int at = context.statement_offset;
    const int call_at = Offset(call, at);
    const google::protobuf::Descriptor* descriptor = spec::ImageFeaturesSpec::descriptor();
    std::set<std::string> allowed;
    for (int idx = 0; idx < descriptor->field_count(); ++idx) {
      allowed.insert(descriptor->field(idx)->name());
    }
    CallArgs args;
    EDDY_ASSIGN_OR_RETURN(args, Arguments(call, at, "IMAGE_FEATURES", allowed));
    if (args.positional.empty() || args.positional.size() > 2) {
      return ErrorAt(call_at,
                     "IMAGE_FEATURES takes the stream and the image column, then named "
                     "arguments: IMAGE_FEATURES(stream, image, resize => '28x28', extractor => "
                     "'hog')");
    }
    Input input;
    EDDY_ASSIGN_OR_RETURN(input,
                          RelationArgument(args.positional[0], at, "IMAGE_FEATURES", context));
    spec::OperatorSpec op;
    op.add_inputs(input.node);
    std::vector<std::pair<std::string, FieldOrigin>> origins;
    // The image column: the second argument (as TUMBLE's time column), or
    // "column" => image (COLUMN is reserved in PostgreSQL, hence quoted).
    std::map<std::string, PgNode> named = args.named;
    if (args.positional.size() == 2) {
      const std::vector<PgNode> fields = args.positional[1]["fields"].items();
      if (args.positional[1].type() != "ColumnRef" || fields.empty() || named.count("column")) {
        return ErrorAt(args.positional[1], at,
                       "IMAGE_FEATURES's second argument is the image column, named once");
      }
      named["column"] = args.positional[1];
    }
    for (const auto& [name, value] : named) {
      // The column is named; every other value is a constant.
      const std::vector<PgNode> fields = value["fields"].items();
      const std::string text = value.type() == "ColumnRef" && !fields.empty()
                                   ? std::string(fields.back().AsString())
                                   : ValueText(value);
      std::string path;
      if (auto problem = SetPath(op.mutable_image_features(), name, text, &path)) {
        return ErrorAt(value, at, "IMAGE_FEATURES " + name + ": " + *problem);
      }
      origins.push_back(
          {".image_features." + path, Origin(Offset(value, call_at), "IMAGE_FEATURES " + name)});
    }
    if (!op.has_image_features()) op.mutable_image_features();
    input.node = AddOperator(std::move(op), target + "_image_features", std::move(origins), call_at,
                             "IMAGE_FEATURES");
    if (!alias.empty()) input.qualifiers.insert(alias);
    return input;
  }

  // LEARN / PREQUENTIAL (model, stream, features => ARRAY[...], label => x,
  // per_key => ARRAY[...]) and PREDICT(model).
  Result<Input> Learning(PgNode call, const std::string& function, const std::string& alias,
                         QueryContext& context) {
    const int at = context.statement_offset;
    const int call_at = Offset(call, at);
    const std::string upper = Upper(function);
    CallArgs args;
    const std::set<std::string> allowed =
        function == "predict" ? std::set<std::string>{}
                              : std::set<std::string>{"features", "label", "per_key"};
    EDDY_ASSIGN_OR_RETURN(args, Arguments(call, at, upper, allowed));
    const size_t expected = function == "predict" ? 1 : 2;
    if (args.positional.size() != expected) {
      return ErrorAt(call_at,
                     function == "predict"
                         ? "PREDICT takes the model: PREDICT(model), after LEARN(model, ...)"
                         : upper +
                               " takes the model and the stream, then features => "
                               "ARRAY[...], label => expression");
    }
    PgNode model_arg = args.positional[0];
    const std::vector<PgNode> model_fields = model_arg["fields"].items();
    const std::string model_name =
        model_fields.size() == 1 ? std::string(model_fields[0].AsString()) : std::string();
    auto model_it = relations_.find(model_name);
    if (model_name.empty() || model_it == relations_.end() ||
        model_it->second.kind != Relation::Kind::kModel) {
      return ErrorAt(model_arg, at,
                     upper + "'s first argument is a model declared with CREATE MODEL");
    }
    Relation& model = model_it->second;
    spec::OperatorSpec op;
    std::vector<std::pair<std::string, FieldOrigin>> origins;
    Input input;
    if (function == "predict") {
      if (!model.trained || model.model_type.empty() || !learned_.count(model_name)) {
        return ErrorAt(model_arg, at,
                       "PREDICT(" + model_name + ") needs LEARN(" + model_name +
                           ", ...) first: it predicts with that learner's model");
      }
      op.add_inputs(model_name);
      op.mutable_predict()->set_from(model_name);
      input.qualifiers = {model_name};
      if (!alias.empty()) input.qualifiers = {alias};
      input.node = AddOperator(std::move(op), context_target_ + "_predict", {}, call_at, "PREDICT");
      input.named = true;
      return input;
    }
    if (model.trained) {
      return ErrorAt(model_arg, at,
                     "model '" + model_name +
                         "' is already trained by another query (one LEARN or "
                         "PREQUENTIAL per model)");
    }
    Input stream;
    EDDY_ASSIGN_OR_RETURN(stream, RelationArgument(args.positional[1], at, upper, context));
    ExprScope scope = Scope(stream);
    spec::LearnSpec learn = model.model;
    for (const auto& [path, origin] : model.model_origins) {
      origins.push_back({"." + function + path, origin});
    }
    auto list = [&](const char* key, google::protobuf::RepeatedPtrField<std::string>* out,
                    const std::string& field) -> Status {
      auto it = args.named.find(key);
      if (it == args.named.end()) return Status::OK();
      PgNode value = it->second;
      std::vector<PgNode> items;
      if (value.type() == "A_ArrayExpr") {
        items = value["elements"].items();
      } else if (value.type() == "RowExpr") {
        items = value["args"].items();
      } else {
        items = {value};
      }
      for (PgNode element : items) {
        ExprText text;
        // COLUMNS('hog_*') (as in DuckDB): every input column the pattern
        // matches, expanded when the operator is compiled.
        if (element.type() == "FuncCall" && sql::FunctionName(element) == "columns") {
          const std::vector<PgNode> pattern = element["args"].items();
          // The operator's rule (learn_operator.cc): name characters with a
          // `?`, or a `*` at either end.
          const std::string glob = pattern.size() == 1 ? ValueText(pattern[0]) : "";
          const bool shaped =
              !glob.empty() && glob != "*" &&
              glob.find_first_not_of(
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_*?") == std::string::npos &&
              (glob.find('?') != std::string::npos || glob.front() == '*' || glob.back() == '*');
          if (key != std::string("features") || pattern.size() != 1 ||
              pattern[0].type() != "A_Const" || !pattern[0]["sval"].valid() || !shaped) {
            return ErrorAt(element, call_at,
                           "COLUMNS('pattern') takes one string, a column-name pattern such as "
                           "'hog_*' (name characters with ?, or * at either end), and stands for "
                           "features");
          }
          origins.push_back({"." + function + "." + field + "[" + std::to_string(out->size()) + "]",
                             Origin(Offset(element, call_at), upper + " " + key)});
          out->Add(ValueText(pattern[0]));
          continue;
        }
        EDDY_RETURN_IF_ERROR(sql::TranslateExpr(element, scope, &text));
        const std::optional<std::string> name = sql::ImplicitName(element);
        if (name && text.text != EddyIdentifier(*name)) text.text += " AS " + EddyIdentifier(*name);
        origins.push_back({"." + function + "." + field + "[" + std::to_string(out->size()) + "]",
                           Origin(Offset(element, call_at), upper + " " + key, text.anchors)});
        out->Add(std::move(text.text));
      }
      return Status::OK();
    };
    EDDY_RETURN_IF_ERROR(list("features", learn.mutable_features(), "features"));
    EDDY_RETURN_IF_ERROR(list("per_key", learn.mutable_per_key(), "per_key"));
    if (auto label = args.named.find("label"); label != args.named.end()) {
      ExprText text;
      EDDY_RETURN_IF_ERROR(sql::TranslateExpr(label->second, scope, &text));
      learn.set_label(text.text);
      origins.push_back({"." + function + ".label",
                         Origin(Offset(label->second, call_at), upper + " label", text.anchors)});
    }
    op.set_name(model_name);
    op.add_inputs(stream.node);
    if (function == "learn") {
      *op.mutable_learn() = std::move(learn);
      learned_.insert(model_name);
    } else {
      *op.mutable_prequential() = std::move(learn);
    }
    model.trained = true;
    input.node = AddOperator(std::move(op), model_name, std::move(origins), call_at, upper);
    input.qualifiers = stream.qualifiers;
    input.qualifiers.insert(model_name);
    if (!alias.empty()) input.qualifiers.insert(alias);
    input.named = true;
    return input;
  }

  // stream JOIN table ON stream_expr = table.pk: a lookup join.
  Result<Input> LookupJoin(PgNode join, const std::string& target, QueryContext& context) {
    const int at = context.statement_offset;
    const std::string_view type = join.Str("jointype");
    if (type != "JOIN_INNER" && type != "JOIN_LEFT") {
      return ErrorAt(at,
                     "RIGHT, FULL and CROSS joins are not supported (a lookup join is "
                     "stream [LEFT] JOIN table ON ...)");
    }
    if (join.Bool("isNatural")) return ErrorAt(at, "NATURAL JOIN is not supported");
    Input stream;
    EDDY_ASSIGN_OR_RETURN(stream, FromItem(join["larg"], target, context));
    if (stream.window) return ErrorAt(at, "a window table function cannot be joined");
    PgNode right = join["rarg"];
    if (right.type() != "RangeVar" || !right.Str("schemaname").empty()) {
      return ErrorAt(right, at,
                     "the right side of a JOIN is a table declared with CREATE TABLE ... PRIMARY "
                     "KEY (joins of two streams are not supported)");
    }
    const std::string table_name(right.Str("relname"));
    const int table_at = Offset(right, at);
    auto it = relations_.find(table_name);
    if (it == relations_.end() || it->second.kind != Relation::Kind::kTable) {
      return ErrorAt(table_at, "'" + table_name +
                                   "' is not a table: the right side of a JOIN is a table with a "
                                   "PRIMARY KEY (a lookup join); joins of two streams are not "
                                   "supported");
    }
    Relation& table = it->second;
    table.read = true;
    const std::string alias(right["alias"].Str("aliasname"));
    std::set<std::string> table_names = {alias.empty() ? table_name : alias};
    ExprScope stream_scope = Scope(stream);
    std::string key;
    std::vector<sql::Anchor> key_anchors;
    int key_at = table_at;
    const std::vector<PgNode> using_columns = join["usingClause"].items();
    if (!using_columns.empty()) {
      if (using_columns.size() != 1 || using_columns[0].AsString() != table.primary_key) {
        return ErrorAt(table_at,
                       "JOIN ... USING names the table's PRIMARY KEY (" + table.primary_key + ")");
      }
      key = EddyIdentifier(table.primary_key);
    } else {
      PgNode quals = join["quals"];
      const std::vector<PgNode> names = quals["name"].items();
      if (quals.type() != "A_Expr" || quals.Str("kind") != "AEXPR_OP" || names.empty() ||
          names.back().AsString() != "=") {
        return ErrorAt(quals, at,
                       "a lookup join's ON is one equality: stream_expression = " + table_name +
                           "." + table.primary_key);
      }
      auto is_key = [&](PgNode side) {
        const std::vector<PgNode> fields = side["fields"].items();
        return side.type() == "ColumnRef" && fields.size() == 2 &&
               table_names.count(std::string(fields[0].AsString())) > 0 &&
               fields[1].AsString() == table.primary_key;
      };
      PgNode stream_side;
      if (is_key(quals["rexpr"])) {
        stream_side = quals["lexpr"];
      } else if (is_key(quals["lexpr"])) {
        stream_side = quals["rexpr"];
      } else {
        return ErrorAt(quals, at,
                       "a lookup join's ON compares the table's PRIMARY KEY, " +
                           *table_names.begin() + "." + table.primary_key +
                           ", with an expression over the stream");
      }
      ExprText text;
      EDDY_RETURN_IF_ERROR(sql::TranslateExpr(stream_side, stream_scope, &text));
      key = text.text;
      key_anchors = text.anchors;
      key_at = Offset(stream_side, at);
    }
    spec::OperatorSpec op;
    op.add_inputs(stream.node);
    op.add_inputs(table.node);
    spec::LookupJoinSpec* lookup = op.mutable_lookup_join();
    lookup->set_key(key);
    lookup->set_table_key(table.primary_key);
    if (type == "JOIN_LEFT") lookup->set_join_type("left");
    // The table columns the query reads, or all when it reads table.* or *.
    std::vector<std::string> columns;
    bool all = false;
    CollectTableColumns(current_select_, table_names, &columns, &all);
    if (!all) {
      columns.erase(std::remove(columns.begin(), columns.end(), table.primary_key), columns.end());
      for (const std::string& column : columns) lookup->add_columns(column);
    }
    std::vector<std::pair<std::string, FieldOrigin>> origins;
    origins.push_back({".lookup_join.key", Origin(key_at, "JOIN ON", key_anchors)});
    origins.push_back({".lookup_join.columns", Origin(table_at, "JOIN " + table_name)});
    Input input;
    input.node = AddOperator(std::move(op), target + "_join", std::move(origins), table_at,
                             "JOIN " + table_name);
    input.qualifiers = stream.qualifiers;
    input.table_qualifiers = stream.table_qualifiers;
    input.table_qualifiers.insert(table_names.begin(), table_names.end());
    input.table_columns = stream.table_columns;
    input.table_all = stream.table_all || all;
    if (!all) input.table_columns.insert(input.table_columns.end(), columns.begin(), columns.end());
    return input;
  }

  // Walks the query's select list, WHERE, GROUP BY and HAVING for columns
  // qualified by the table.
  static void CollectTableColumns(PgNode select, const std::set<std::string>& table_names,
                                  std::vector<std::string>* columns, bool* all) {
    std::function<void(PgNode)> walk = [&](PgNode node) {
      if (!node.valid()) return;
      if (node.type() == "ColumnRef") {
        const std::vector<PgNode> fields = node["fields"].items();
        if (fields.size() == 1 && fields[0].type() == "A_Star") *all = true;
        if (fields.size() == 2 && table_names.count(std::string(fields[0].AsString())) > 0) {
          if (fields[1].type() == "A_Star") {
            *all = true;
          } else if (std::find(columns->begin(), columns->end(), fields[1].AsString()) ==
                     columns->end()) {
            columns->emplace_back(fields[1].AsString());
          }
        }
        return;
      }
      node.ForEachChild(walk);
    };
    for (const char* clause : {"targetList", "whereClause", "groupClause", "havingClause"}) {
      walk(select[clause]);
    }
  }

  Result<std::string> SimpleSelect(PgNode select, const std::string& target,
                                   QueryContext& context) {
    const int at = context.statement_offset;
    EDDY_RETURN_IF_ERROR(Unsupported(select, at));
    const std::vector<PgNode> from = select["fromClause"].items();
    if (from.empty()) return ErrorAt(at, "a SELECT needs FROM: a source, view or table function");
    if (from.size() > 1) {
      return ErrorAt(from[1], at,
                     "FROM a, b (a cross join) is not supported; a lookup join is stream JOIN "
                     "table ON ...");
    }
    PgNode saved_select = current_select_;
    std::string saved_target = context_target_;
    current_select_ = select;
    context_target_ = target;
    Result<Input> from_input = FromItem(from[0], target, context);
    current_select_ = saved_select;
    context_target_ = saved_target;
    if (!from_input.ok()) return from_input.status();
    Input input = std::move(from_input).value();
    const std::vector<PgNode> targets = select["targetList"].items();
    PgNode where = select["whereClause"];
    if (where.valid()) {
      ExprScope scope = Scope(input);
      ExprText text;
      EDDY_RETURN_IF_ERROR(sql::TranslateExpr(where, scope, &text));
      spec::OperatorSpec op;
      op.add_inputs(input.node);
      op.set_filter(text.text);
      const int where_at = Offset(where, at);
      input.node =
          AddOperator(std::move(op), target + "_where",
                      {{".filter", Origin(where_at, "WHERE", text.anchors)}}, where_at, "WHERE");
    }
    const bool grouped =
        select["groupClause"].valid() || HasAggregate(targets) || select["havingClause"].valid();
    if (input.window && !grouped) {
      return ErrorAt(input.window_offset,
                     "a window table function is aggregated: GROUP BY window_start, window_end "
                     "(and keys), with aggregates in the select list");
    }
    if (grouped) return Aggregate(select, targets, target, input, context);
    return Project(targets, target, input, at);
  }

  static bool HasAggregate(const std::vector<PgNode>& targets) {
    bool found = false;
    std::function<void(PgNode)> walk = [&](PgNode node) {
      if (!node.valid() || found) return;
      if (node.type() == "FuncCall" && sql::IsAggregateFunction(sql::FunctionName(node)) &&
          !node["over"].valid()) {
        found = true;
        return;
      }
      if (node.type() == "SubLink") return;
      node.ForEachChild(walk);
    };
    for (PgNode item : targets) walk(item);
    return found;
  }

  // The select list over `input`: nothing when it is `*`, else a select.
  Result<std::string> Project(const std::vector<PgNode>& targets, const std::string& target,
                              const Input& input, int at) {
    ExprScope scope = Scope(input);
    spec::SelectSpec select;
    std::vector<std::pair<std::string, FieldOrigin>> origins;
    bool identity = true;
    for (size_t idx = 0; idx < targets.size(); ++idx) {
      PgNode item = targets[idx];
      PgNode value = item["val"];
      const int item_at = Offset(item, at);
      const std::vector<PgNode> fields = value["fields"].items();
      const bool star =
          value.type() == "ColumnRef" && !fields.empty() && fields.back().type() == "A_Star";
      if (star) {
        if (fields.size() == 2) {
          const std::string qualifier(fields[0].AsString());
          if (input.table_qualifiers.count(qualifier) > 0) {
            if (!input.table_all) {
              return ErrorAt(item_at, qualifier +
                                          ".* after other columns is not supported; list "
                                          "the table's columns");
            }
          } else if (input.qualifiers.count(qualifier) == 0) {
            return ErrorAt(item_at, "unknown relation '" + qualifier + "' in " + qualifier + ".*");
          } else if (!input.table_qualifiers.empty()) {
            // stream.* then the table's columns is the join's own output.
            if (idx != 0) return ErrorAt(item_at, qualifier + ".* must come first");
            if (StreamStarIsJoinOutput(targets, input)) return input.node;
            return ErrorAt(item_at, qualifier +
                                        ".* can only be followed by the table's columns, in the "
                                        "order the query first names them; list the columns");
          }
        }
        select.add_columns("*");
        origins.push_back({".select.columns[" + std::to_string(idx) + "]",
                           Origin(item_at, "SELECT item " + std::to_string(idx + 1))});
        continue;
      }
      identity = false;
      ExprText text;
      EDDY_RETURN_IF_ERROR(sql::TranslateExpr(value, scope, &text));
      std::optional<std::string> name;
      if (!item.Str("name").empty()) {
        name = std::string(item.Str("name"));
      } else {
        name = sql::ImplicitName(value);
      }
      if (name && text.text != EddyIdentifier(*name)) text.text += " AS " + EddyIdentifier(*name);
      origins.push_back({".select.columns[" + std::to_string(idx) + "]",
                         Origin(item_at, "SELECT item " + std::to_string(idx + 1), text.anchors)});
      select.add_columns(std::move(text.text));
    }
    if (identity && select.columns_size() == 1) return input.node;
    spec::OperatorSpec op;
    op.add_inputs(input.node);
    *op.mutable_select() = std::move(select);
    return AddOperator(std::move(op), target + "_select", std::move(origins), at, "SELECT");
  }

  static bool StreamStarIsJoinOutput(const std::vector<PgNode>& targets, const Input& input) {
    if (input.table_all) {
      // stream.*, table.* is every column.
      if (targets.size() != 2) return false;
      const std::vector<PgNode> fields = targets[1]["val"]["fields"].items();
      return fields.size() == 2 && fields[1].type() == "A_Star" && targets[1].Str("name").empty();
    }
    if (targets.size() != input.table_columns.size() + 1) return false;
    for (size_t idx = 1; idx < targets.size(); ++idx) {
      const std::vector<PgNode> fields = targets[idx]["val"]["fields"].items();
      if (fields.size() != 2 ||
          input.table_qualifiers.count(std::string(fields[0].AsString())) == 0 ||
          fields[1].AsString() != input.table_columns[idx - 1]) {
        return false;
      }
      if (!targets[idx].Str("name").empty() && targets[idx].Str("name") != fields[1].AsString()) {
        return false;
      }
    }
    return true;
  }

  // The GROUP BY items: the keys (as "expr AS name" window or aggregate
  // keys, and in `state` for the expressions above the aggregation) and
  // whether window_start and window_end are among them.
  Status GroupKeys(PgNode select, const std::vector<PgNode>& targets, const Input& input,
                   const ExprScope& scope, int at, AggregateState* state,
                   std::vector<std::string>* keys,
                   std::vector<std::pair<std::string, FieldOrigin>>* origins) {
    bool saw_start = false, saw_end = false;
    int group_idx = 0;
    for (PgNode group : select["groupClause"].items()) {
      PgNode expr = group;
      const int group_at = Offset(group, at);
      if (group.type() == "GroupingSet")
        return ErrorAt(group_at, "GROUPING SETS, ROLLUP and CUBE are not supported");
      // GROUP BY 2: the second select item.
      if (group.type() == "A_Const" && group["ival"].valid()) {
        const int64_t ordinal = group["ival"].Int("ival");
        if (ordinal < 1 || ordinal > static_cast<int64_t>(targets.size())) {
          return ErrorAt(group_at, "GROUP BY position " + std::to_string(ordinal) +
                                       " is not in the select list");
        }
        expr = targets[ordinal - 1]["val"];
      }
      const std::vector<PgNode> fields = expr["fields"].items();
      if (expr.type() == "ColumnRef" && !fields.empty()) {
        const std::string column(fields.back().AsString());
        if (column == "window_start" || column == "window_end") {
          if (!state->windowed) {
            return ErrorAt(group_at, column + " is a column of TUMBLE, HOP or SESSION in FROM");
          }
          (column == "window_start" ? saw_start : saw_end) = true;
          continue;
        }
        // GROUP BY alias: the select item of that name (when it is not
        // the input column itself).
        if (fields.size() == 1) {
          for (PgNode item : targets) {
            if (item.Str("name") == column && sql::ImplicitName(item["val"]) != column) {
              expr = item["val"];
            }
          }
        }
      }
      ExprText text;
      EDDY_RETURN_IF_ERROR(sql::TranslateExpr(expr, scope, &text));
      std::string name;
      for (PgNode item : targets) {
        ExprText item_text;
        if (!item.Str("name").empty() && sql::TranslateExpr(item["val"], scope, &item_text).ok() &&
            item_text.text == text.text) {
          name = std::string(item.Str("name"));
        }
      }
      if (name.empty()) {
        name = sql::ImplicitName(expr).value_or("_key" + std::to_string(state->keys.size()));
      }
      std::string key_text = text.text;
      if (key_text != EddyIdentifier(name)) key_text += " AS " + EddyIdentifier(name);
      state->keys.push_back({text.text, name});
      origins->push_back(
          {"[" + std::to_string(group_idx++) + "]", Origin(group_at, "GROUP BY", text.anchors)});
      keys->push_back(key_text);
    }
    if (state->windowed && (!saw_start || !saw_end)) {
      return ErrorAt(input.window_offset,
                     "a windowed aggregation groups by window_start and window_end: GROUP BY "
                     "window_start, window_end[, keys]");
    }
    if (!state->windowed && state->keys.empty()) {
      return ErrorAt(at,
                     "an aggregate needs GROUP BY: a key (a running aggregate per key) or "
                     "window_start, window_end of a TUMBLE, HOP or SESSION window");
    }
    return Status::OK();
  }

  // GROUP BY: a window (after a window table function) or a keyed running
  // aggregate; HAVING and the select list above it.
  Result<std::string> Aggregate(PgNode select, const std::vector<PgNode>& targets,
                                const std::string& target, const Input& input,
                                QueryContext& context) {
    const int at = context.statement_offset;
    AggregateState state;
    state.windowed = input.window.has_value();
    ExprScope scope = Scope(input);
    std::vector<std::pair<std::string, FieldOrigin>> origins;
    std::vector<std::string> keys;
    EDDY_RETURN_IF_ERROR(GroupKeys(select, targets, input, scope, at, &state, &keys, &origins));
    scope.aggregate = &state;
    // Select items that are an aggregate call take the item's name.
    std::vector<std::string> items;
    std::vector<std::pair<std::string, FieldOrigin>> item_origins;
    std::vector<std::string> names;
    for (size_t idx = 0; idx < targets.size(); ++idx) {
      PgNode item = targets[idx];
      PgNode value = item["val"];
      const int item_at = Offset(item, at);
      const std::vector<PgNode> fields = value["fields"].items();
      if (value.type() == "ColumnRef" && !fields.empty() && fields.back().type() == "A_Star") {
        return ErrorAt(item_at, "* is not allowed in an aggregation: name the keys and aggregates");
      }
      std::optional<std::string> name;
      if (!item.Str("name").empty()) name = std::string(item.Str("name"));
      ExprText text;
      if (value.type() == "FuncCall" && sql::IsAggregateFunction(sql::FunctionName(value))) {
        std::string column;
        EDDY_ASSIGN_OR_RETURN(
            column, sql::AddAggregateCall(value, name ? name : sql::ImplicitName(value), scope));
        text.Mark(item_at);
        text.text = EddyIdentifier(column);
        if (!name) name = column;
      } else {
        EDDY_RETURN_IF_ERROR(sql::TranslateExpr(value, scope, &text));
        if (!name) name = sql::ImplicitName(value);
      }
      if (name && text.text != EddyIdentifier(*name)) text.text += " AS " + EddyIdentifier(*name);
      names.push_back(name.value_or(text.text));
      item_origins.push_back(
          {".select.columns[" + std::to_string(idx) + "]",
           Origin(item_at, "SELECT item " + std::to_string(idx + 1), text.anchors)});
      items.push_back(std::move(text.text));
    }
    ExprText having;
    PgNode having_node = select["havingClause"];
    if (having_node.valid()) EDDY_RETURN_IF_ERROR(sql::TranslateExpr(having_node, scope, &having));
    // Distinct output names for aggregates (count, count_2, ...).
    std::set<std::string> used;
    for (const AggregateState::Key& key : state.keys) used.insert(key.name);
    if (state.windowed) used.insert({"window_start", "window_end"});
    for (AggregateState::Call& call : state.calls) {
      if (!used.insert(call.name).second) {
        return ErrorAt(at, "two output columns are named '" + call.name + "' (use AS)");
      }
    }
    // The aggregation operator.
    spec::OperatorSpec op;
    op.add_inputs(input.node);
    std::vector<std::pair<std::string, FieldOrigin>> op_origins;
    const std::string field = state.windowed ? ".window" : ".aggregate";
    auto* key_field =
        state.windowed ? op.mutable_window()->mutable_key() : op.mutable_aggregate()->mutable_key();
    for (size_t idx = 0; idx < keys.size(); ++idx) {
      key_field->Add(std::string(keys[idx]));
      op_origins.push_back({field + ".key" + origins[idx].first, origins[idx].second});
    }
    auto* aggregates = state.windowed ? op.mutable_window()->mutable_aggregates()
                                      : op.mutable_aggregate()->mutable_aggregates();
    for (size_t idx = 0; idx < state.calls.size(); ++idx) {
      const AggregateState::Call& call = state.calls[idx];
      aggregates->Add(call.text.text + " AS " + EddyIdentifier(call.name));
      const int call_at = call.text.anchors.empty() ? at : call.text.anchors.front().original;
      op_origins.push_back({field + ".aggregates[" + std::to_string(idx) + "]",
                            Origin(call_at, "aggregate " + call.name, call.text.anchors)});
    }
    int agg_at = at;
    std::string label = "GROUP BY";
    if (state.windowed) {
      spec::WindowSpec* window = op.mutable_window();
      const spec::WindowSpec& from = *input.window;
      window->set_type(from.type());
      window->set_size(from.size());
      window->set_slide(from.slide());
      window->set_gap(from.gap());
      window->set_time_column(from.time_column());
      window->set_allowed_lateness(from.allowed_lateness());
      if (!context.allowed_lateness.empty()) {
        window->set_allowed_lateness(context.allowed_lateness);
        op_origins.push_back(
            {".window.allowed_lateness", Origin(lateness_offset_, "allowed_lateness")});
      }
      if (context.emit) {
        window->set_output_mode(*context.emit == EmitMode::kOnUpdate ? "update" : "append");
        context.emit_used = true;
        op_origins.push_back({".window.output_mode", Origin(context.emit_offset, "EMIT")});
      }
      agg_at = input.window_offset;
      label = Upper(from.type() == "tumbling"  ? "tumble"
                    : from.type() == "sliding" ? "hop"
                                               : "session");
      op_origins.push_back({".window", Origin(agg_at, label)});
    } else {
      if (context.emit) {
        if (*context.emit == EmitMode::kOnWindowClose) {
          return ErrorAt(context.emit_offset,
                         "EMIT ON WINDOW CLOSE needs a window; a GROUP BY without one emits on "
                         "update");
        }
        context.emit_used = true;
      }
      if (!context.ttl.empty()) {
        op.mutable_aggregate()->set_ttl(context.ttl);
        op_origins.push_back({".aggregate.ttl", Origin(ttl_offset_, "ttl")});
      }
    }
    if (state.windowed && !context.ttl.empty()) {
      return ErrorAt(ttl_offset_, "ttl applies to a GROUP BY without a window");
    }
    if (!state.windowed && !context.allowed_lateness.empty()) {
      return ErrorAt(lateness_offset_, "allowed_lateness applies to a windowed aggregation");
    }
    std::string node =
        AddOperator(std::move(op), target + (state.windowed ? "_window" : "_aggregate"),
                    std::move(op_origins), agg_at, label);
    if (context.aggregate_op != nullptr) *context.aggregate_op = node;
    if (having_node.valid()) {
      spec::OperatorSpec filter;
      filter.add_inputs(node);
      filter.set_filter(having.text);
      const int having_at = Offset(having_node, at);
      node = AddOperator(std::move(filter), target + "_having",
                         {{".filter", Origin(having_at, "HAVING", having.anchors)}}, having_at,
                         "HAVING");
    }
    // The aggregation's own columns in order need no select.
    std::vector<std::string> output;
    for (const AggregateState::Key& key : state.keys) output.push_back(EddyIdentifier(key.name));
    if (state.windowed) {
      output.push_back("window_start");
      output.push_back("window_end");
    }
    for (const AggregateState::Call& call : state.calls)
      output.push_back(EddyIdentifier(call.name));
    if (items == output) return node;
    spec::OperatorSpec project;
    project.add_inputs(node);
    for (std::string& item : items) project.mutable_select()->add_columns(std::move(item));
    return AddOperator(std::move(project), target + "_select", std::move(item_origins), at,
                       "SELECT");
  }

  // ---- the job ----

  Status Finish(CompiledSql* out) {
    LoadedJob& job = out->job;
    if (!name_set_) spec_.set_name(options_.default_name);
    for (const std::string& name : order_) {
      Relation& relation = relations_[name];
      SqlRelation listed{name, "", "", relation.node};
      switch (relation.kind) {
        case Relation::Kind::kSource:
        case Relation::Kind::kTable: {
          listed.kind = relation.kind == Relation::Kind::kSource ? "source" : "table";
          listed.details = Describe(relation.source);
          if (options_.prune_unused_sources && !relation.read) break;
          const std::string path = "sources[" + std::to_string(spec_.sources_size()) + "]";
          source_->origins[path] =
              Origin(relation.offset, "CREATE " + Upper(listed.kind) + " " + name);
          for (auto& [field, origin] : relation.source_origins)
            source_->origins[path + field] = origin;
          *spec_.add_sources() = relation.source;
          break;
        }
        case Relation::Kind::kSink: {
          listed.kind = "sink";
          listed.details = Describe(relation.sink);
          if (!relation.has_query) {
            if (options_.definitions_only) break;
            return ErrorAt(relation.offset, "sink '" + name + "' has no query: INSERT INTO " +
                                                EddyIdentifier(name) + " SELECT ...");
          }
          const std::string path = "sinks[" + std::to_string(spec_.sinks_size()) + "]";
          source_->origins[path] = Origin(relation.offset, "sink " + name);
          for (auto& [field, origin] : relation.sink_origins)
            source_->origins[path + field] = origin;
          *spec_.add_sinks() = relation.sink;
          break;
        }
        case Relation::Kind::kView:
          listed.kind = "view";
          listed.details = "-> " + relation.node;
          break;
        case Relation::Kind::kModel:
          listed.kind = "model";
          listed.details = relation.model_type;
          break;
      }
      if (listed.kind != "sink" || name != "result") out->relations.push_back(std::move(listed));
    }
    job.spec = std::move(spec_);
    for (const auto& [path, origin] : source_->origins) {
      job.locations[path] = source_->Location(origin.offset);
    }
    std::shared_ptr<const SourceText> source = source_;
    job.error_hook = [source](std::string_view path, std::string_view message) {
      return source->ErrorAtPath(path, message);
    };
    if (options_.definitions_only) return Status::OK();
    return ValidateJobStructure(job);
  }

  static std::string Describe(const spec::SourceSpec& source) {
    if (source.has_kafka()) {
      std::vector<std::string> topics(source.kafka().topics().begin(),
                                      source.kafka().topics().end());
      return "kafka topic=" + Join(topics, ",");
    }
    if (source.has_file()) return "file path=" + source.file().path();
    if (source.has_generator()) return "generator kind=" + source.generator().kind();
    return "";
  }

  static std::string Describe(const spec::SinkSpec& sink) {
    if (sink.has_kafka()) return "kafka topic=" + sink.kafka().topic();
    if (sink.has_file()) return "file path=" + sink.file().path();
    return "stdout";
  }

  const SqlCompileOptions& options_;
  const EnvLookup& env_;
  std::shared_ptr<SourceText> source_;
  sql::RewrittenSql rewritten_;
  spec::JobSpec spec_;
  bool name_set_ = false;
  std::map<std::string, Relation> relations_;
  std::vector<std::string> order_;
  std::set<std::string> node_names_;
  std::set<std::string> learned_;  // models with a LEARN, which PREDICT needs
  // The SELECT whose FROM is being compiled (a join adds the table columns
  // the whole SELECT names) and the name its operators are named after.
  PgNode current_select_;
  std::string context_target_;
  // Where the view options ttl and allowed_lateness were written.
  int ttl_offset_ = 0;
  int lateness_offset_ = 0;
};

std::string FileStem(const std::string& file_name) {
  std::string stem = std::filesystem::path(file_name).stem().string();
  return stem.empty() ? std::string("sql-job") : stem;
}

}  // namespace

bool IsSqlFileName(std::string_view file_name) {
  return file_name.size() >= 4 && Lower(file_name.substr(file_name.size() - 4)) == ".sql";
}

Result<CompiledSql> CompileSql(const std::vector<SqlText>& texts, const SqlCompileOptions& options,
                               const EnvLookup& env) {
  auto source = std::make_shared<SourceText>(texts);
  CompiledSql out;
  Compiler compiler(options, env, source);
  EDDY_RETURN_IF_ERROR(compiler.Run(&out));
  return out;
}

Result<LoadedJob> LoadSqlJobText(std::string_view sql, const std::string& file_name,
                                 const EnvLookup& env) {
  SqlCompileOptions options;
  options.default_name = FileStem(file_name);
  EDDY_ASSIGN_OR_RETURN(CompiledSql compiled,
                        CompileSql({SqlText{std::string(sql), file_name}}, options, env));
  compiled.job.file = file_name;
  const std::string dir = std::filesystem::path(file_name).parent_path().string();
  compiled.job.base_dir = dir.empty() ? "." : dir;
  return std::move(compiled.job);
}

}  // namespace eddy
