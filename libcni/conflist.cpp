#include "libcni/conflist.h"

#include "libcni/errors.h"
#include "libnet/core/file.h"

namespace zl::cni {
namespace {

// One plugin's object with the list's name and cniVersion, as a runtime passes it.
std::string flatten(const JVal& plugin, const std::string& name, const std::string& version) {
  rapidjson::Document one;
  auto& a = one.GetAllocator();
  one.CopyFrom(plugin, a);
  one.RemoveMember("name");
  one.RemoveMember("cniVersion");
  one.AddMember("name", rapidjson::Value(name.c_str(), static_cast<rapidjson::SizeType>(name.size()), a), a);
  one.AddMember("cniVersion", rapidjson::Value(version.c_str(), static_cast<rapidjson::SizeType>(version.size()), a), a);
  return to_json(one);
}

}  // namespace

Result<NetConf> Conflist::plugin(std::string_view type) const {
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != type) continue;
    auto nc = parse_netconf(plugin_confs[i]);
    if (!nc) return std::move(nc).error().wrap(path);
    return nc;
  }
  return fail(kErrInvalidConfig, path + ": no " + std::string(type) + " plugin in the conflist");
}

Result<Conflist> load_conflist(const std::string& path) {
  auto text = net::read_file(path);
  if (!text) return std::move(text).error();
  auto doc = parse_json(*text, path);
  if (!doc) return std::move(doc).error();
  const JVal& d = **doc;
  auto name = get_string(d, "name", "name");
  auto ver = get_string(d, "cniVersion", "cniVersion");
  auto plugins = get_array(d, "plugins", "plugins");
  if (!d.IsObject() || !name || !ver || !plugins) return fail(kErrInvalidConfig, path + ": not a conflist");
  if (!*name || !*plugins) return fail(kErrInvalidConfig, path + ": conflist needs name and plugins");
  Conflist c{.path = path, .name = **name, .cni_version = ver->value_or("1.1.0")};
  size_t i = 0;
  for (const auto& p : (*plugins)->GetArray()) {
    const std::string where = path + ": plugins[" + std::to_string(i++) + "]";
    auto type = p.IsObject() ? get_string(p, "type", "type") : Result<std::optional<std::string>>(std::nullopt);
    if (!type || !*type) return fail(kErrInvalidConfig, where + ": expected an object with a string \"type\"");
    c.types.push_back(**type);
    c.plugin_confs.push_back(flatten(p, c.name, c.cni_version));
  }
  return c;
}

}  // namespace zl::cni
