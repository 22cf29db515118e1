#include "libcni/version.h"

#include <algorithm>
#include <charconv>

namespace zl::cni {

std::optional<std::array<int, 3>> parse_version(std::string_view v) {
  std::array<int, 3> out{};
  for (int i = 0; i < 3; ++i) {
    auto end = i < 2 ? v.find('.') : v.size();
    if (end == std::string_view::npos || end == 0 || end > 4) return std::nullopt;
    if (v[0] < '0' || v[0] > '9') return std::nullopt;  // from_chars would take "-1"
    auto [p, ec] = std::from_chars(v.data(), v.data() + end, out[i]);
    if (ec != std::errc() || p != v.data() + end) return std::nullopt;
    v.remove_prefix(i < 2 ? end + 1 : end);
  }
  return out;
}

int compare_versions(std::string_view a, std::string_view b) {
  auto pa = parse_version(a), pb = parse_version(b);
  if (!pa || !pb) return pa ? 1 : (pb ? -1 : 0);
  return *pa < *pb ? -1 : (*pa > *pb ? 1 : 0);
}

bool is_supported_version(std::string_view v) {
  return std::find(kSupportedVersions.begin(), kSupportedVersions.end(), v) != kSupportedVersions.end();
}

}  // namespace zl::cni
