#include "tools/aequorctl/help.h"

#include <memory>
#include <sstream>

#include "CLI/CLI.hpp"

namespace aequor {
namespace cli {
namespace {

// Where a flag's help starts: "  --min-idle-s N   a session must ...".
constexpr size_t kFlagColumn = 19;
// Where a command's summary starts: "  leases     list sessions ...".
constexpr size_t kCommandColumn = 13;

// CLI11's layout with aequorctl's order: the usage first (CLI11 puts the
// description first), then the description, the flags, the commands and the
// footer.
class UsageFirstFormatter : public CLI::Formatter {
 public:
  explicit UsageFirstFormatter(std::string usage) : usage_(std::move(usage)) {}

  std::string make_help(const CLI::App* app, std::string /*name*/,
                        CLI::AppFormatMode mode) const override {
    std::ostringstream out;
    out << usage_ << "\n";
    if (!app->get_description().empty()) out << "\n" << app->get_description() << "\n";
    out << make_groups(app, mode) << make_subcommands(app, mode);
    if (!app->get_footer().empty()) out << "\n" << app->get_footer() << "\n";
    return out.str();
  }

 private:
  std::string usage_;
};

std::string Render(CLI::App& app, const std::string& usage, size_t column) {
  auto formatter = std::make_shared<UsageFirstFormatter>(usage);
  formatter->column_width(column);
  app.formatter(formatter);
  return app.help();
}

}  // namespace

std::string HelpText(const CommandHelp& help) {
  CLI::App app(help.description);
  app.set_help_flag("-h,--help", "print this help and exit");
  for (const FlagDef& def : help.flags) {
    if (def.takes_value()) {
      app.add_option("--" + def.name, def.help)->type_name(def.value_name);
    } else {
      app.add_flag("--" + def.name, def.help);
    }
  }
  app.footer(help.footer);
  return Render(app, help.usage, kFlagColumn);
}

std::string CommandListText(const std::string& usage, const std::string& description,
                            const std::vector<std::pair<std::string, std::string>>& commands,
                            const std::string& footer) {
  CLI::App app(description);
  app.set_help_flag();  // the group's help is this text; its flags are the commands'
  for (const auto& [name, summary] : commands) app.add_subcommand(name, summary)->group("Commands");
  app.footer(footer);
  return Render(app, usage, kCommandColumn);
}

}  // namespace cli
}  // namespace aequor
