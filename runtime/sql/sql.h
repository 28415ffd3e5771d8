#pragma once
// Jobs written in SQL (docs/sql.md): PostgreSQL's dialect, parsed by
// PostgreSQL's own parser (libpg_query), compiled onto the job spec
// (runtime/spec/job_spec.proto), so a SQL job is planned, checked and run
// exactly as the same job written in YAML.
//
// Every spec field the compiler sets keeps the position of the SQL that set
// it: an error found later (a type error in an expression, an unknown
// column) names the SQL file, line and column, through LoadedJob's
// error_hook.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/status.h"
#include "runtime/spec/job_spec_loader.h"

namespace eddy {

// True for file names ending in ".sql" (any case).
bool IsSqlFileName(std::string_view file_name);

// One piece of SQL text and the name its positions are reported under (a
// file, or "statement 3" in the shell).
struct SqlText {
  std::string text;
  std::string name;
};

struct SqlCompileOptions {
  // A top-level SELECT is written to a stdout sink named `result` (the
  // shell's live query); in a job file it is an error (it has no sink).
  bool allow_select = false;
  // Drop sources that nothing reads (the shell keeps all its definitions).
  bool prune_unused_sources = false;
  // Return the definitions without checking the job as a whole (the shell,
  // while it has no query yet).
  bool definitions_only = false;
  // The job's name unless SET name = '...' gives one.
  std::string default_name = "sql-job";
};

// What one top-level statement was.
enum class SqlStatementKind {
  kSet,
  kCreateSource,
  kCreateTable,
  kCreateSink,
  kCreateView,
  kCreateModel,
  kInsert,
  kSelect,
  kExplain,
  kShow,
};

// A name a query can read from, as the shell lists them (SHOW SOURCES).
struct SqlRelation {
  std::string name;
  std::string kind;     // source | table | view | model | sink
  std::string details;  // e.g. "kafka topic=ad-events", "kind=ysb"
  std::string node;     // the DAG node it stands for
};

struct CompiledSql {
  LoadedJob job;
  std::vector<SqlStatementKind> statements;  // in order
  std::vector<SqlRelation> relations;        // in declaration order
  // SHOW <what> of the last statement, when it is a SHOW.
  std::string show;
};

// Compiles SQL texts (in order) into a job. Errors are InvalidArgument
// "NAME:LINE:COL: message".
Result<CompiledSql> CompileSql(const std::vector<SqlText>& texts, const SqlCompileOptions& options,
                               const EnvLookup& env = ProcessEnvironment());

// A job file in SQL. The job's name defaults to the file's stem.
Result<LoadedJob> LoadSqlJobText(std::string_view sql, const std::string& file_name,
                                 const EnvLookup& env = ProcessEnvironment());
Result<LoadedJob> LoadSqlJobFile(const std::string& path,
                                 const EnvLookup& env = ProcessEnvironment());

// Either form, by file name: *.sql is SQL, anything else YAML.
Result<LoadedJob> LoadAnyJobFile(const std::string& path,
                                 const EnvLookup& env = ProcessEnvironment());
Result<LoadedJob> LoadAnyJobText(std::string_view text, const std::string& file_name,
                                 const EnvLookup& env = ProcessEnvironment());

// CheckNoInlineSecrets (runtime/spec/secrets.h) for either form: a
// credential written inline in a WITH option or SET is an error at its
// position.
Status CheckAnyJobForInlineSecrets(std::string_view text, const std::string& file_name);

}  // namespace eddy
