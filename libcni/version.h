// CNI spec versions: the ones zl-cni speaks, parsing and ordering.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace zl::cni {

inline constexpr std::array<std::string_view, 5> kSupportedVersions = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
inline constexpr std::string_view kLatestVersion = "1.1.0";

// "X.Y.Z" with decimal parts; nullopt otherwise.
std::optional<std::array<int, 3>> parse_version(std::string_view v);
// <0, 0, >0 like strcmp; both must parse (an unparsable one sorts first).
int compare_versions(std::string_view a, std::string_view b);
bool is_supported_version(std::string_view v);
// The version is at least `min` (both valid).
inline bool version_at_least(std::string_view v, std::string_view min) { return compare_versions(v, min) >= 0; }

}  // namespace zl::cni
