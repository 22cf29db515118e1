#include "libcni/conflist.h"

#include "libcni/errors.h"
#include "libnet/core/file.h"

namespace zl::cni {

Result<NetConf> Conflist::plugin(std::string_view type) const {
  for (size_t i = 0; i < types.size(); i++) {
    if (types[i] == type) return parse_netconf(plugin_confs[i]);
  }
  return fail(kErrInvalidConfig, path + ": no " + std::string(type) + " plugin in the conflist");
}

Result<Conflist> load_conflist(const std::string& path) {
  auto text = net::read_file(path);
  if (!text) return fail(kErrInvalidConfig, text.error().msg);
  auto doc = parse_json(*text, path);
  if (!doc) return std::move(doc).error();
  auto& d = **doc;
  auto name = get_string(d, "name", "name");
  auto ver = get_string(d, "cniVersion", "cniVersion");
  auto plugins = get_array(d, "plugins", "plugins");
  if (!name || !ver || !plugins) return fail(kErrInvalidConfig, path + ": not a conflist");
  if (!*name || !*plugins) return fail(kErrInvalidConfig, path + ": conflist needs name and plugins");
  Conflist c{.path = path, .name = **name, .cni_version = ver->value_or("1.1.0")};
  for (auto& p : (*plugins)->GetArray()) {
    if (!p.IsObject()) return fail(kErrInvalidConfig, path + ": plugins: expected objects");
    auto type = get_string(p, "type", "type");
    if (!type) return std::move(type).error();
    rapidjson::Document one;
    one.CopyFrom(p, one.GetAllocator());
    one.RemoveMember("name");
    one.RemoveMember("cniVersion");
    one.AddMember("name", rapidjson::Value(c.name.c_str(), one.GetAllocator()), one.GetAllocator());
    one.AddMember("cniVersion", rapidjson::Value(c.cni_version.c_str(), one.GetAllocator()), one.GetAllocator());
    c.types.push_back(type->value_or(""));
    c.plugin_confs.push_back(to_json(one));
  }
  return c;
}

}  // namespace zl::cni
