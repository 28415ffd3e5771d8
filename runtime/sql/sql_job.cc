// Job files in SQL next to YAML: reading them, and choosing the loader by
// file name.

#include <functional>

#include "runtime/spec/secrets.h"
#include "runtime/sql/pg_tree.h"
#include "runtime/sql/sql.h"
#include "runtime/sql/sql_source.h"

namespace eddy {
namespace {

// Walks a parse tree for WITH options and SETs whose key is a credential
// and whose value is written out rather than taken from ${VAR}.
Status CheckCredentials(sql::PgNode node, const sql::RewrittenSql& rewritten,
                        const sql::SourceText& source) {
  Status found;
  std::function<void(sql::PgNode)> walk = [&](sql::PgNode child) {
    if (!found.ok() || !child.valid()) return;
    std::string key;
    std::string value;
    if (child.type() == "DefElem") {
      key = std::string(child.Str("defname"));
      sql::PgNode arg = child["arg"];
      value = std::string(arg.type() == "String" ? arg.Str("sval") : std::string_view());
    } else if (child.type() == "VariableSetStmt") {
      key = std::string(child.Str("name"));
      for (sql::PgNode arg : child["args"].items()) value += arg["sval"].Str("sval");
    }
    const std::string last = key.substr(key.rfind('.') + 1);
    if (!value.empty() && (IsCredentialKey(key) || IsCredentialKey(last)) &&
        value.find("${") == std::string::npos) {
      const int location = child.location();
      found = source.Error(location < 0 ? 0 : rewritten.Original(location),
                           key +
                               ": a credential must not be written in the job: take it from "
                               "the environment, '${VARIABLE}' (docs/job-file.md, secrets)");
      return;
    }
    child.ForEachChild(walk);
  };
  walk(node);
  return found;
}

}  // namespace

Result<LoadedJob> LoadSqlJobFile(const std::string& path, const EnvLookup& env) {
  EDDY_ASSIGN_OR_RETURN(std::string text, ReadJobFileText(path));
  return LoadSqlJobText(text, path, env);
}

Result<LoadedJob> LoadAnyJobFile(const std::string& path, const EnvLookup& env) {
  if (IsSqlFileName(path)) return LoadSqlJobFile(path, env);
  return LoadJobFile(path, env);
}

Result<LoadedJob> LoadAnyJobText(std::string_view text, const std::string& file_name,
                                 const EnvLookup& env) {
  if (IsSqlFileName(file_name)) return LoadSqlJobText(text, file_name, env);
  return LoadJobText(text, file_name, env);
}

Status CheckAnyJobForInlineSecrets(std::string_view text, const std::string& file_name) {
  if (!IsSqlFileName(file_name)) return CheckNoInlineSecrets(text, file_name);
  const sql::SourceText source({SqlText{std::string(text), file_name}});
  Result<std::vector<sql::PgToken>> tokens = sql::ScanPostgres(source.combined());
  sql::RewrittenSql rewritten;
  sql::PgSyntaxError error;
  // Syntax errors are the loader's to report, with their position.
  if (!tokens.ok() || !sql::RewriteStreamingSql(source.combined(), *tokens, &rewritten, &error)) {
    return Status::OK();
  }
  Result<std::unique_ptr<sql::PgTree>> tree = sql::ParsePostgres(rewritten.text, &error);
  if (!tree.ok() || *tree == nullptr) return Status::OK();
  for (const sql::PgStatement& statement : (*tree)->statements) {
    EDDY_RETURN_IF_ERROR(CheckCredentials(statement.node, rewritten, source));
  }
  return Status::OK();
}

}  // namespace eddy
