// tools/aequorctl/text_format.h: how aequorctl lays out figures for people:
// durations, tables, and numbers rounded for JSON.
//
//   HumanSeconds(192.4)                        // "3m12s"
//   FormatTable({{"PID", "ROLE"}, {"4711", "app"}});
//   nlohmann::ordered_json{{"idle_s", Rounded(idle_s, 3)}};
//
// Thread-safety: pure functions.
#ifndef AEQUOR_TOOLS_AEQUORCTL_TEXT_FORMAT_H_
#define AEQUOR_TOOLS_AEQUORCTL_TEXT_FORMAT_H_

#include <string>
#include <vector>

namespace aequor {
namespace cli {

// "45s", "3m12s", "2h03m", "4d06h" (whole seconds, rounded down; "0s" for
// anything below a second or negative).
std::string HumanSeconds(double seconds);

// Lays `rows` out in left-aligned columns separated by two spaces, one line
// each, the last column unpadded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// `value` rounded to `decimals` decimals (JSON then shows at most those);
// NaN and infinities unchanged (JSON shows them as null).
double Rounded(double value, int decimals);

}  // namespace cli
}  // namespace aequor

#endif  // AEQUOR_TOOLS_AEQUORCTL_TEXT_FORMAT_H_
