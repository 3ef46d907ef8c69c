// testing/postgres_cluster.cc: see postgres_cluster.h.
#include "testing/postgres_cluster.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "testing/file_util.h"

extern char** environ;

namespace aequor {
namespace testing {
namespace cluster {
namespace {

using T = ThrowawayPostgres;

// Quotes a postgresql.conf string value.
std::string ConfValue(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "''"}}), "'");
}

// Quotes an SQL string literal (standard_conforming_strings is on).
std::string SqlLiteral(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"'", "''"}}), "'");
}

// The environment of the server programs: ours without libpq/locale/time-zone
// variables, plus LC_ALL=C (English messages) and TZ=UTC (initdb skips its
// time-zone search).
std::vector<std::string> ServerEnvironment(const RunAs& who) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view var(*e);
    if (absl::StartsWith(var, "PG") || absl::StartsWith(var, "LC_") ||
        absl::StartsWith(var, "LANG=") || absl::StartsWith(var, "LANGUAGE=") ||
        absl::StartsWith(var, "TZ=") ||
        (who.switch_user && (absl::StartsWith(var, "HOME=") || absl::StartsWith(var, "USER=") ||
                             absl::StartsWith(var, "LOGNAME=")))) {
      continue;
    }
    env.emplace_back(var);
  }
  env.push_back("LC_ALL=C");
  env.push_back("TZ=UTC");
  if (who.switch_user) {
    env.push_back(absl::StrCat("HOME=", who.home));
    env.push_back(absl::StrCat("USER=", who.name));
    env.push_back(absl::StrCat("LOGNAME=", who.name));
  }
  return env;
}

std::string PgHbaConf() {
  return "# Written by aequor::testing::ThrowawayPostgres.\n"
         "# TYPE  DATABASE  USER      ADDRESS       METHOD\n"
         "local   all       postgres                trust\n"
         "local   all       all                     scram-sha-256\n"
         "host    all       all       127.0.0.1/32  scram-sha-256\n"
         "host    all       all       ::1/128       scram-sha-256\n";
}

// Runs `sql` (one statement per line) in single-user mode on `dbname`:
// no server, no socket, no port. exit_on_error makes any error fatal.
absl::Status RunSingleUser(const std::string& bindir, const RunAs& who, const std::string& data_dir,
                           const std::string& work_dir, absl::string_view dbname,
                           absl::string_view sql) {
  const std::string input = work_dir + "/setup.sql";
  if (absl::Status s = WriteFile(input, sql, WriteMode::kTruncate, who); !s.ok()) return s;
  SpawnSpec spec = ServerProgram({bindir + "/postgres", "--single", "-F", "-c", "exit_on_error=on",
                                  "-c", "password_encryption=scram-sha-256", "-c",
                                  "log_checkpoints=off", "-D", data_dir, std::string(dbname)},
                                 work_dir, work_dir + "/setup.log", who);
  spec.in = Stream::File(input);
  absl::Status status = RunToCompletion(
      spec, absl::StrCat("setting up roles and database (postgres --single ", dbname, ")"));
  unlink(input.c_str());
  return status;
}

// The SQL that sets up the roles and the database (see throwaway_postgres.h).
std::string SetupSql(bool create_roles) {
  std::string sql = absl::StrCat("ALTER ROLE postgres PASSWORD ",
                                 SqlLiteral(T::PasswordFor(T::kAdminRole)), "\n");
  if (!create_roles) {
    absl::StrAppend(&sql, "CREATE DATABASE ", T::kDatabase, " STRATEGY FILE_COPY\n");
    return sql;
  }
  for (const char* role : {T::kAppRole, T::kApp2Role, T::kReaperRole}) {
    absl::StrAppend(&sql, "CREATE ROLE ", role, " LOGIN PASSWORD ",
                    SqlLiteral(T::PasswordFor(role)), "\n");
  }
  absl::StrAppend(&sql, "GRANT pg_read_all_stats, pg_signal_backend TO ", T::kReaperRole, "\n",
                  "CREATE ROLE ", T::kSuperRole, " SUPERUSER LOGIN PASSWORD ",
                  SqlLiteral(T::PasswordFor(T::kSuperRole)), "\n", "CREATE DATABASE ", T::kDatabase,
                  " OWNER ", T::kAppRole, " STRATEGY FILE_COPY\n",
                  "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ", T::kDatabase, " TO ",
                  T::kAppRole, ", ", T::kApp2Role, "\n");
  return sql;
}

// Makes a complete cluster in `data_dir` (which must not exist): initdb,
// pg_hba.conf, the database `aequor` and, if asked, the roles.
absl::Status PrepareCluster(const std::string& bindir, const RunAs& who,
                            const std::string& data_dir, const std::string& work_dir,
                            bool create_roles) {
  SpawnSpec initdb =
      ServerProgram({bindir + "/initdb", "-D", data_dir, "-U", "postgres", "-A", "trust", "-E",
                     "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                    work_dir, work_dir + "/initdb.log", who);
  if (absl::Status s = RunToCompletion(initdb, "initdb"); !s.ok()) return s;
  if (absl::Status s = WriteFile(data_dir + "/pg_hba.conf", PgHbaConf(), WriteMode::kTruncate, who);
      !s.ok()) {
    return s;
  }
  if (absl::Status s =
          RunSingleUser(bindir, who, data_dir, work_dir, "postgres", SetupSql(create_roles));
      !s.ok()) {
    return s;
  }
  if (!create_roles) return absl::OkStatus();
  // Schema public belongs to pg_database_owner (aequor_app); since PG 15
  // nobody else may create in it unless granted.
  return RunSingleUser(bindir, who, data_dir, work_dir, T::kDatabase,
                       absl::StrCat("GRANT USAGE, CREATE ON SCHEMA public TO ", T::kAppRole, ", ",
                                    T::kApp2Role, "\n"));
}

// Template clusters, one per value of create_roles.
struct Templates {
  std::mutex mu;
  // How many clusters were prepared without a template so far.
  int prepared[2] ABSL_GUARDED_BY(mu) = {0, 0};
  std::string dir[2] ABSL_GUARDED_BY(mu);  // ".../aequor-pg-tmpl-XXXXXX" once made.
  std::string bindir[2] ABSL_GUARDED_BY(mu);
};

Templates& TheTemplates() {
  static Templates* t = new Templates;  // Leaked on purpose.
  return *t;
}

void RemoveTemplatesAtExit() {
  Templates& t = TheTemplates();
  std::lock_guard<std::mutex> lock(t.mu);
  for (std::string& dir : t.dir) {
    RemoveTree(dir);
    dir.clear();
  }
}

// The data directory of the template to copy, made on first use; "" when the
// caller should prepare its own cluster: the first cluster of a process (many
// binaries start only one, and a copy would only add to initdb), or when the
// template was made with other binaries.
absl::StatusOr<std::string> TemplateDataDir(const std::string& bindir, const RunAs& who,
                                            bool create_roles) {
  Templates& t = TheTemplates();
  std::lock_guard<std::mutex> lock(t.mu);
  const int i = create_roles ? 1 : 0;
  if (!t.dir[i].empty()) return t.bindir[i] == bindir ? t.dir[i] + "/data" : "";
  if (t.prepared[i]++ == 0) return std::string();
  absl::StatusOr<std::string> dir = MakeTempDir(TempParent(), "aequor-pg-tmpl-", who);
  if (!dir.ok()) return dir.status();
  absl::Status status = PrepareCluster(bindir, who, *dir + "/data", *dir, create_roles);
  if (!status.ok()) {
    RemoveTree(*dir);
    return status;
  }
  static const bool registered = (atexit(RemoveTemplatesAtExit), true);
  (void)registered;
  t.dir[i] = *dir;
  t.bindir[i] = bindir;
  return t.dir[i] + "/data";
}

}  // namespace

std::string TempParent() {
  const char* dir = getenv("AEQUOR_PG_TMPDIR");
  std::string parent = dir != nullptr && dir[0] != '\0' ? dir : "/tmp";
  while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
  return parent;
}

absl::StatusOr<RunAs> ServerUser() {
  if (geteuid() != 0) return RunAs::Current();
  absl::StatusOr<RunAs> postgres = RunAs::User("postgres");
  if (absl::IsNotFound(postgres.status())) {
    return absl::FailedPreconditionError(
        "running as root, and initdb/postgres refuse root, but there is no 'postgres' system "
        "user to run them as (install Debian's postgresql-15, or run the tests as another user)");
  }
  return postgres;
}

SpawnSpec ServerProgram(std::vector<std::string> argv, const std::string& cwd,
                        const std::string& output_path, const RunAs& who) {
  SpawnSpec spec;
  spec.argv = std::move(argv);
  spec.env = ServerEnvironment(who);
  spec.cwd = cwd;
  spec.in = Stream::Null();
  spec.out = Stream::File(output_path);
  spec.err = Stream::SameAsStdout();
  spec.run_as = who;
  // PR_SET_PDEATHSIG follows the forking thread; see subprocess.h.
  spec.parent_death_signal = IsMainThread() ? SIGQUIT : 0;
  return spec;
}

absl::Status MakeCluster(const std::string& bindir, const RunAs& who, const std::string& data_dir,
                         const std::string& work_dir, const ThrowawayPostgresOptions& options) {
  if (options.reuse_initdb) {
    absl::StatusOr<std::string> tmpl = TemplateDataDir(bindir, who, options.create_roles);
    if (!tmpl.ok()) {
      return absl::Status(tmpl.status().code(),
                          absl::StrCat("making the template cluster: ", tmpl.status().message()));
    }
    if (!tmpl->empty()) {
      SpawnSpec cp =
          ServerProgram({"/bin/cp", "-a", *tmpl, data_dir}, work_dir, work_dir + "/copy.log", who);
      cp.parent_death_signal = 0;
      return RunToCompletion(cp, "copying the template cluster (cp -a)");
    }
  }
  return PrepareCluster(bindir, who, data_dir, work_dir, options.create_roles);
}

std::string ServerSettings(const ThrowawayPostgresOptions& options, const std::string& socket_dir) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"listen_addresses", "127.0.0.1"},
      {"unix_socket_directories", socket_dir},
      {"fsync", "off"},
      {"synchronous_commit", "off"},
      {"full_page_writes", "off"},
      {"shared_buffers", "32MB"},
      {"huge_pages", "off"},
      {"max_connections", absl::StrCat(options.max_connections)},
      {"superuser_reserved_connections", absl::StrCat(options.superuser_reserved_connections)},
      {"password_encryption", "scram-sha-256"},
      {"log_line_prefix", "%m [%p] %q%u@%d app=%a "},
  };
  settings.insert(settings.end(), options.extra_settings.begin(), options.extra_settings.end());
  std::string conf =
      "\n# Added by aequor::testing::ThrowawayPostgres (the port is given with -p).\n";
  for (const auto& [name, value] : settings) {
    absl::StrAppend(&conf, name, " = ", ConfValue(value), "\n");
  }
  return conf;
}

}  // namespace cluster
}  // namespace testing
}  // namespace aequor
