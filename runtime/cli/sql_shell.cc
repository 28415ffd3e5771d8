// `eddy sql`: an interactive SQL shell over live topics (docs/sql.md,
// "The shell"). Definitions (CREATE SOURCE/TABLE/VIEW/MODEL/SINK, SET)
// accumulate in the session; a SELECT compiles the session and the query
// into a job (runtime/sql), runs it with its rows printed as they come, and
// stops at Ctrl-C. Line editing and history come from libedit.

#include <histedit.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cli/commands.h"
#include "runtime/cli/embedded_brokers.h"
#include "runtime/engine/executor.h"
#include "runtime/engine/job_plan.h"
#include "runtime/sql/sql.h"

namespace eddy {
namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted = true; }

// Prints a live query's rows: a header once, then one line per row, the
// values separated by " | ".
class ConsoleSink final : public Sink {
 public:
  ConsoleSink(std::string name, std::FILE* out) : name_(std::move(name)), out_(out) {}

  const std::string& name() const override { return name_; }
  Status Open() override { return Status::OK(); }

  Status Write(const Batch& batch, const WriteContext&, DeadLetters*) override {
    if (batch.num_rows() == 0) return Status::OK();
    std::string text;
    if (!header_written_) {
      for (size_t idx = 0; idx < batch.num_columns(); ++idx) {
        text += (idx > 0 ? " | " : "") + batch.schema().field(idx).name;
      }
      text += "\n";
      header_written_ = true;
    }
    for (size_t row = 0; row < batch.num_rows(); ++row) {
      for (size_t idx = 0; idx < batch.num_columns(); ++idx) {
        const Column& column = batch.column(idx);
        text += (idx > 0 ? " | " : "") +
                (column.IsNull(row) ? std::string("NULL") : column.ValueToString(row));
      }
      text += "\n";
    }
    rows_ += static_cast<int64_t>(batch.num_rows());
    std::fwrite(text.data(), 1, text.size(), out_);
    return Status::OK();
  }

  Status Flush() override {
    std::fflush(out_);
    return Status::OK();
  }
  int64_t records_written() const override { return rows_; }

 private:
  const std::string name_;
  std::FILE* const out_;
  bool header_written_ = false;
  int64_t rows_ = 0;
};

// Reads statements: with libedit (editing, history) on a terminal, plain
// lines otherwise.
class LineReader {
 public:
  explicit LineReader(const std::string& history_file) : history_file_(history_file) {
    if (::isatty(STDIN_FILENO) == 0) return;
    editor_ = el_init("eddy", stdin, stdout, stderr);
    history_ = history_init();
    HistEvent event;
    history(history_, &event, H_SETSIZE, 1000);
    history(history_, &event, H_SETUNIQUE, 1);
    if (!history_file_.empty()) history(history_, &event, H_LOAD, history_file_.c_str());
    el_set(editor_, EL_EDITOR, "emacs");
    el_set(editor_, EL_HIST, history, history_);
    el_set(editor_, EL_PROMPT, &LineReader::Prompt);
    el_set(editor_, EL_CLIENTDATA, this);
    // Our SIGINT handler, not libedit's: Ctrl-C at the prompt drops the
    // line being typed.
    el_set(editor_, EL_SIGNAL, 0);
  }

  ~LineReader() {
    if (history_ != nullptr) {
      HistEvent event;
      if (!history_file_.empty()) history(history_, &event, H_SAVE, history_file_.c_str());
      history_end(history_);
    }
    if (editor_ != nullptr) el_end(editor_);
  }

  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its newline; false at end of input.
  bool Next(bool continuation, std::string* line) {
    continuation_ = continuation;
    if (editor_ == nullptr) {
      if (::isatty(STDIN_FILENO) != 0) std::fputs(continuation ? "   -> " : "eddy> ", stdout);
      std::fflush(stdout);
      return static_cast<bool>(std::getline(std::cin, *line));
    }
    while (true) {
      int count = 0;
      const char* text = el_gets(editor_, &count);
      if (text == nullptr || count <= 0) {
        if (g_interrupted.exchange(false)) {
          // Ctrl-C: a fresh prompt.
          std::fputs("^C\n", stdout);
          el_reset(editor_);
          *line = "\x03";
          return true;
        }
        return false;
      }
      *line = text;
      while (!line->empty() && (line->back() == '\n' || line->back() == '\r')) line->pop_back();
      return true;
    }
  }

  void Remember(const std::string& statement) {
    if (history_ == nullptr) return;
    HistEvent event;
    history(history_, &event, H_ENTER, statement.c_str());
  }

 private:
  static const char* Prompt(EditLine* editor) {
    void* data = nullptr;
    el_get(editor, EL_CLIENTDATA, &data);
    return static_cast<LineReader*>(data)->continuation_ ? "   -> " : "eddy> ";
  }

  std::string history_file_;
  EditLine* editor_ = nullptr;
  History* history_ = nullptr;
  bool continuation_ = false;
};

bool IsComplete(const std::string& buffer) {
  size_t end = buffer.find_last_not_of(" \t\r\n");
  return end != std::string::npos && buffer[end] == ';';
}

std::string Trim(std::string text) {
  text.erase(0, text.find_first_not_of(" \t\r\n"));
  const size_t end = text.find_last_not_of(" \t\r\n;");
  text.erase(end == std::string::npos ? 0 : end + 1);
  return text;
}

std::string LowerWord(const std::string& text, size_t* end) {
  size_t pos = 0;
  std::string word;
  while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) != 0 ||
                               text[pos] == '_' || text[pos] == '\\')) {
    word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos++])));
  }
  if (end != nullptr) *end = pos;
  return word;
}

class Shell {
 public:
  explicit Shell(const SqlShellOptions& options) : options_(options) {
    definitions_.push_back({"SET kafka.brokers = '" + options.brokers + "';", "session"});
  }

  // One statement typed (without its ';'). Returns false to leave.
  bool Execute(const std::string& statement) {
    size_t end = 0;
    const std::string first = LowerWord(statement, &end);
    if (first == "quit" || first == "exit" || first == "\\q") return false;
    if (first == "help" || first == "\\?") {
      Help();
      return true;
    }
    if (first == "describe" || first == "desc" || first == "\\d") {
      Describe(Trim(statement.substr(end)));
      return true;
    }
    ++statement_count_;
    const SqlText text{statement, "statement " + std::to_string(statement_count_)};
    std::vector<SqlText> texts = definitions_;
    texts.push_back(text);
    SqlCompileOptions compile;
    compile.allow_select = true;
    compile.prune_unused_sources = true;
    compile.default_name = "sql-shell";
    compile.definitions_only = true;
    auto compiled = CompileSql(texts, compile);
    if (!compiled.ok()) {
      std::printf("ERROR: %s\n", compiled.status().message().c_str());
      return true;
    }
    const SqlStatementKind kind = compiled->statements.back();
    switch (kind) {
      case SqlStatementKind::kShow:
        Show(*compiled);
        return true;
      case SqlStatementKind::kSelect:
      case SqlStatementKind::kInsert:
      case SqlStatementKind::kExplain:
        Run(texts, kind);
        return true;
      default:
        definitions_.push_back(text);
        std::printf("%s\n", Done(kind));
        return true;
    }
  }

 private:
  static const char* Done(SqlStatementKind kind) {
    switch (kind) {
      case SqlStatementKind::kSet:
        return "SET";
      case SqlStatementKind::kCreateSource:
        return "CREATE SOURCE";
      case SqlStatementKind::kCreateTable:
        return "CREATE TABLE";
      case SqlStatementKind::kCreateSink:
        return "CREATE SINK";
      case SqlStatementKind::kCreateView:
        return "CREATE VIEW";
      case SqlStatementKind::kCreateModel:
        return "CREATE MODEL";
      default:
        return "OK";
    }
  }

  void Help() {
    std::printf(
        "Statements end with ';'. Definitions stay for the session:\n"
        "  CREATE SOURCE name (columns, WATERMARK FOR col AS col - INTERVAL '1' SECOND)\n"
        "    WITH (connector = 'kafka', topic = '...', format = 'json');\n"
        "  CREATE TABLE, CREATE VIEW, CREATE MODEL, CREATE SINK, SET name = value;\n"
        "  SELECT ... runs live until Ctrl-C; EXPLAIN SELECT ... prints its DAG;\n"
        "  SHOW SOURCES | TABLES | VIEWS | MODELS | SINKS; DESCRIBE name; quit\n"
        "docs/sql.md has the whole dialect.\n");
  }

  void Show(const CompiledSql& compiled) {
    std::string what = compiled.show;
    if (!what.empty() && what.back() == 's') what.pop_back();
    if (what != "source" && what != "table" && what != "view" && what != "model" &&
        what != "sink" && what != "all") {
      std::printf("ERROR: SHOW takes SOURCES, TABLES, VIEWS, MODELS, SINKS or ALL\n");
      return;
    }
    std::printf("%-24s %-8s %s\n", "NAME", "KIND", "DETAILS");
    for (const SqlRelation& relation : compiled.relations) {
      if (what != "all" && relation.kind != what) continue;
      std::printf("%-24s %-8s %s\n", relation.name.c_str(), relation.kind.c_str(),
                  relation.details.c_str());
    }
  }

  // A job for the session's definitions and `texts`' last statement, with
  // state in a directory of its own.
  Result<std::unique_ptr<JobPlan>> Plan(std::vector<SqlText> texts, std::string* state_dir) {
    *state_dir = (std::filesystem::temp_directory_path() /
                  ("eddy-sql-" + std::to_string(::getpid()) + "-" + std::to_string(++jobs_)))
                     .string();
    texts.insert(texts.begin() + 1, {"SET state.dir = '" + *state_dir + "';", "session"});
    SqlCompileOptions compile;
    compile.allow_select = true;
    compile.prune_unused_sources = true;
    compile.default_name = "sql-shell";
    EDDY_ASSIGN_OR_RETURN(CompiledSql compiled, CompileSql(texts, compile));
    return PlanJob(std::move(compiled.job), brokers_.Context());
  }

  void Run(const std::vector<SqlText>& texts, SqlStatementKind kind) {
    std::string state_dir;
    auto plan = Plan(texts, &state_dir);
    if (!plan.ok()) {
      std::printf("ERROR: %s\n", plan.status().message().c_str());
      return;
    }
    if (kind == SqlStatementKind::kExplain) {
      std::printf("%s", (*plan)->Describe().c_str());
      return;
    }
    // The live query's rows go to the terminal.
    for (size_t idx = 0; idx < (*plan)->sinks.size(); ++idx) {
      const spec::SinkSpec& sink = (*plan)->job.spec.sinks(static_cast<int>(idx));
      if (sink.has_stdout()) {
        (*plan)->sinks[idx] = std::make_unique<ConsoleSink>(sink.name(), stdout);
      }
    }
    std::printf("(running; Ctrl-C stops the query)\n");
    std::fflush(stdout);
    g_interrupted = false;
    ExecutorOptions executor;
    executor.stop = &g_interrupted;
    executor.once = options_.once;
    auto summary = RunJob(**plan, executor);
    // After Ctrl-C the terminal shows "^C": the summary starts a line.
    if (g_interrupted.exchange(false)) std::printf("\n");
    if (!summary.ok()) {
      std::printf("ERROR: %s\n", summary.status().ToString().c_str());
    } else {
      std::printf("(query stopped: %lld rows in, %lld rows out)\n",
                  static_cast<long long>(summary->records_in),
                  static_cast<long long>(summary->records_out));
    }
    std::error_code ignored;
    std::filesystem::remove_all(state_dir, ignored);
  }

  void Describe(const std::string& name) {
    if (name.empty()) {
      std::printf("ERROR: DESCRIBE name\n");
      return;
    }
    std::vector<SqlText> texts = definitions_;
    texts.push_back({"SELECT * FROM " + name, "DESCRIBE"});
    std::string state_dir;
    auto plan = Plan(texts, &state_dir);
    if (!plan.ok()) {
      std::printf("ERROR: %s\n", plan.status().message().c_str());
      return;
    }
    const PlanNode* node = nullptr;
    for (const PlanNode& candidate : (*plan)->nodes) {
      if (candidate.dag.kind == DagNode::Kind::kSink) node = &candidate;
    }
    std::printf("%-24s %s\n", "COLUMN", "TYPE");
    for (const Field& field : node->schema.fields()) {
      std::printf("%-24s %s%s\n", field.name.c_str(), std::string(TypeName(field.type)).c_str(),
                  field.nullable ? "" : " NOT NULL");
    }
  }

  const SqlShellOptions& options_;
  std::vector<SqlText> definitions_;
  EmbeddedBrokers brokers_;
  int statement_count_ = 0;
  int jobs_ = 0;
};

}  // namespace

int SqlShellCommand(const SqlShellOptions& options) {
  // Ctrl-C stops a running query or the line being typed, not the shell.
  struct sigaction action = {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a read at the prompt returns
  sigaction(SIGINT, &action, nullptr);
  spdlog::set_level(spdlog::level::warn);

  Shell shell(options);
  for (const std::string& statement : options.execute) {
    if (!shell.Execute(Trim(statement))) return 0;
  }
  if (!options.execute.empty()) return 0;
  std::string history_file = options.history_file;
  if (history_file.empty() && std::getenv("HOME") != nullptr) {
    history_file = std::string(std::getenv("HOME")) + "/.eddy_sql_history";
  }
  LineReader reader(history_file);
  if (::isatty(STDIN_FILENO) != 0) {
    std::printf("eddy sql: statements end with ';', help; for help, Ctrl-D or quit to leave\n");
  }
  std::string buffer;
  std::string line;
  while (reader.Next(!buffer.empty(), &line)) {
    if (line == "\x03") {
      buffer.clear();
      continue;
    }
    if (buffer.empty() && Trim(line).empty()) continue;
    buffer += line + "\n";
    const std::string first = LowerWord(Trim(buffer), nullptr);
    const bool command =
        first == "quit" || first == "exit" || first == "help" || first == "\\q" || first == "\\?";
    if (!command && !IsComplete(buffer)) continue;
    const std::string statement = Trim(buffer);
    buffer.clear();
    reader.Remember(statement + (command ? "" : ";"));
    if (!shell.Execute(statement)) break;
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace eddy
