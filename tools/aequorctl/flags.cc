#include "tools/aequorctl/flags.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "api/secret.h"

namespace aequor {
namespace cli {

const char* NonEmptyEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}
namespace {

bool IsHelp(absl::string_view arg) { return arg == "-h" || arg == "--help"; }

// The name in `--name` or `--name=value`; nullopt for anything else.
std::optional<std::string> LongName(absl::string_view arg) {
  if (arg.size() < 3 || !absl::StartsWith(arg, "--")) return std::nullopt;
  const size_t eq = arg.find('=');
  return std::string(arg.substr(2, eq == absl::string_view::npos ? eq : eq - 2));
}

bool IsSecretFlag(absl::string_view name) {
  return name == "secret" || absl::StartsWith(name, "secret-") || name == "coordination-secret";
}

const FlagDef* Find(const std::vector<FlagDef>& defs, absl::string_view name) {
  for (const FlagDef& def : defs) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

// An argument as CLI11 is given it; `arg` is its index among the arguments.
struct Token {
  std::string text;
  size_t arg = 0;
  bool boolean_with_value = false;  // `--flag=...` of a boolean flag: refused
};

// The arguments as CLI11 reads them the way aequorctl always has: CLI11
// alone would read `--name=` as `--name` taking the next argument as its
// value, and would accept `--json=true`.
std::vector<Token> Tokenize(const std::vector<std::string>& args,
                            const std::vector<FlagDef>& defs) {
  std::vector<Token> tokens;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const size_t eq = arg.find('=');
    const std::optional<std::string> name = LongName(arg);
    const FlagDef* def = name.has_value() && eq != std::string::npos ? Find(defs, *name) : nullptr;
    if (def != nullptr && !def->takes_value()) {
      tokens.push_back({arg, i, /*boolean_with_value=*/true});
    } else if (def != nullptr && eq + 1 == arg.size()) {
      tokens.push_back({"--" + def->name, i});
      tokens.push_back({"", i});
    } else {
      tokens.push_back({arg, i});
    }
  }
  return tokens;
}

// What CLI11 made of some tokens.
struct Reading {
  Flags flags;
  std::vector<std::string> left_over;  // tokens CLI11 took for no flag, -h and --help aside
  std::optional<std::string> twice;    // a flag given more than once
  bool value_missing = false;          // the last token is a flag whose value is missing
};

Reading Read(absl::Span<const Token> tokens, const std::vector<FlagDef>& defs) {
  CLI::App app;
  app.set_help_flag();  // -h and --help come back as left-overs, recognised below
  app.allow_extras();   // so do unknown flags and positionals, named below without values
  std::vector<std::pair<const FlagDef*, CLI::Option*>> options;
  for (const FlagDef& def : defs) {
    CLI::Option* option =
        def.takes_value() ? app.add_option("--" + def.name) : app.add_flag("--" + def.name);
    option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);  // a repeat is counted below
    options.emplace_back(&def, option);
  }
  std::vector<std::string> reversed;  // CLI11 takes the arguments from the back
  for (auto t = tokens.rbegin(); t != tokens.rend(); ++t) reversed.push_back(t->text);
  Reading reading;
  try {
    app.parse(reversed);
  } catch (const CLI::ArgumentMismatch&) {
    // Only when the arguments end with a flag that takes a value: CLI11 takes
    // the next argument as the value whatever it looks like, as aequorctl did.
    reading.value_missing = true;
  }
  for (const std::string& extra : app.remaining()) {
    if (IsHelp(extra)) {
      reading.flags.help = true;
    } else {
      reading.left_over.push_back(extra);
    }
  }
  for (const auto& [def, option] : options) {
    if (option->count() == 0) continue;
    if (option->count() > 1) reading.twice = def->name;
    reading.flags.values[def->name] = def->takes_value() ? option->results().front() : "true";
  }
  return reading;
}

// Why argument #index+1, `arg`, was not taken for a flag; never repeats it
// beyond a flag's name.
absl::Status NotAFlag(const std::string& arg, size_t index) {
  if (std::optional<std::string> name = LongName(arg); name.has_value()) {
    if (IsSecretFlag(*name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", *name,
          " is not accepted: a secret on the command line is visible to other users (ps, "
          "/proc) and kept in shell history; set ",
          kSecretEnvVar, " or ", kSecretFileEnvVar, " (a file holding the secret) instead"));
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown flag --", *name));
  }
  if (!arg.empty() && arg[0] == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("argument #", index + 1, " is not a flag of the form --name"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unexpected argument #", index + 1, " (this command takes flags only)"));
}

absl::StatusOr<Flags> Parse(const std::vector<std::string>& args,
                            const std::vector<FlagDef>& defs) {
  const std::vector<Token> tokens = Tokenize(args, defs);
  const bool marked = std::any_of(tokens.begin(), tokens.end(),
                                  [](const Token& t) { return t.boolean_with_value; });
  if (!marked) {
    Reading all = Read(tokens, defs);
    if (all.left_over.empty() && !all.twice.has_value() && !all.value_missing) {
      return std::move(all.flags);
    }
  }
  // Something is wrong. The error names the first argument that is, as
  // CLI11 reads them from the left: the shortest run of arguments it cannot
  // take ends there (a handful of re-reads, on the error path only).
  for (size_t k = 1; k <= tokens.size(); ++k) {
    const Token& last = tokens[k - 1];
    const std::string& arg = args[last.arg];
    if (last.boolean_with_value) {
      return absl::InvalidArgumentError(absl::StrCat("--", *LongName(arg), " takes no value"));
    }
    const Reading reading = Read(absl::MakeConstSpan(tokens).first(k), defs);
    if (!reading.left_over.empty()) return NotAFlag(arg, last.arg);
    if (reading.twice.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("--", *reading.twice, " given twice"));
    }
    if (reading.value_missing && k == tokens.size()) {
      return absl::InvalidArgumentError(absl::StrCat("--", *LongName(arg), " needs a value"));
    }
  }
  return absl::InternalError("the arguments could not be read");
}

}  // namespace

std::optional<std::string> Flags::Get(absl::string_view name) const {
  auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args,
                                 const std::vector<FlagDef>& defs) {
  try {
    return Parse(args, defs);
  } catch (const CLI::Error& e) {
    // A flag definition CLI11 refuses (a bug in a command, not in its input).
    return absl::InternalError(absl::StrCat("aequorctl's flag definitions: ", e.what()));
  }
}

}  // namespace cli
}  // namespace aequor
