#include "libcni/conf.h"

#include <algorithm>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libcni/version.h"

namespace zl::cni {
namespace {

Result<std::vector<std::string>> string_list(const JVal* obj, std::string_view key, const std::string& path) {
  std::vector<std::string> out;
  if (!obj) return out;
  auto arr = get_array(*obj, key, path);
  if (!arr) return std::move(arr).error();
  if (!*arr) return out;
  for (const auto& e : (*arr)->GetArray()) {
    if (!e.IsString()) return fail(kErrInvalidConfig, path + ": expected strings, got " + json_snippet(e));
    out.emplace_back(e.GetString(), e.GetStringLength());
  }
  return out;
}

Status parse_attachments(const JVal& list, const char* key, std::vector<Attachment>& out) {
  if (!list.IsArray()) return fail(kErrInvalidConfig, std::string(key) + ": expected a list, got " + json_snippet(list));
  size_t i = 0;
  for (const auto& e : list.GetArray()) {
    std::string p = std::string(key) + "[" + std::to_string(i++) + "]";
    if (!e.IsObject()) return fail(kErrInvalidConfig, p + ": expected an object, got " + json_snippet(e));
    auto id = get_string(e, "containerID", p + ".containerID");
    if (!id) return std::move(id).error();
    auto ifn = get_string(e, "ifname", p + ".ifname");
    if (!ifn) return std::move(ifn).error();
    if (!*id || (*id)->empty()) return fail(kErrInvalidConfig, p + ".containerID: missing");
    out.push_back({**id, ifn->value_or("")});
  }
  return {};
}

}  // namespace

Result<NetConf> parse_netconf(std::string raw, bool for_gc) {
  NetConf c;
  c.raw = std::move(raw);
  auto doc = parse_json(c.raw, "network configuration");
  if (!doc) return std::move(doc).error();
  c.doc = std::move(*doc);
  const JVal& root = *c.doc;
  if (!root.IsObject()) {
    return fail(kErrDecode, "network configuration: expected a JSON object, got " + json_snippet(root));
  }
  auto ver = get_string(root, "cniVersion", "cniVersion");
  if (!ver) return std::move(ver).error();
  c.cni_version = ver->value_or("");
  if (c.cni_version.empty()) return fail(kErrIncompatibleVersion, "cniVersion is missing");
  if (!is_supported_version(c.cni_version)) {
    std::string list;
    for (auto v : kSupportedVersions) list += (list.empty() ? "" : ", ") + std::string(v);
    return fail(kErrIncompatibleVersion,
                "cniVersion \"" + c.cni_version + "\" is not supported (supported: " + list + ")");
  }
  auto name = get_string(root, "name", "name");
  if (!name) return std::move(name).error();
  c.name = name->value_or("");
  if (c.name.empty()) return fail(kErrInvalidConfig, "name is missing");
  if (c.name.size() > 128 || !valid_identifier(c.name)) {
    return fail(kErrInvalidConfig, "network name \"" + c.name +
                                       "\": must be 1-128 letters, digits, '_', '.', '-' and start with a letter or digit");
  }
  auto type = get_string(root, "type", "type");
  if (!type) return std::move(type).error();
  c.type = type->value_or("");

  auto ipam = get_object(root, "ipam", "ipam");
  if (!ipam) return std::move(ipam).error();
  c.ipam = *ipam;
  if (c.ipam) {
    auto it = get_string(*c.ipam, "type", "ipam.type");
    if (!it) return std::move(it).error();
    c.ipam_type = it->value_or("");
  }
  auto rc = get_object(root, "runtimeConfig", "runtimeConfig");
  if (!rc) return std::move(rc).error();
  c.runtime_config = *rc;
  auto args = get_object(root, "args", "args");
  if (!args) return std::move(args).error();
  c.args = *args;
  if (auto* d = member(root, "dns")) {
    auto dns = parse_dns(*d, "dns");
    if (!dns) return std::move(dns).error();
    c.dns = std::move(*dns);
  }
  if (auto* pr = member(root, "prevResult")) {
    auto r = parse_result(*pr, c.cni_version);
    if (!r) return std::move(r).error().wrap("prevResult");
    c.prev_result = std::move(*r);
  }
  if (for_gc) {
    for (const char* key : {"cni.dev/valid-attachments", "cni.dev/attachments"}) {
      if (auto* list = member(root, key)) {
        if (auto s = parse_attachments(*list, key, c.valid_attachments); !s) return std::move(s).error();
        c.has_valid_attachments = true;
      }
    }
  }
  return c;
}

Result<net::IpNet> read_subnet_file(const std::string& path, std::string_view key) {
  std::string q = std::string(key) + " " + printable(path);
  if (auto s = validate_path(path, key); !s) return std::move(s).error();
  auto text = net::read_file(path, {.follow_symlink = false, .must_own = true, .forbidden_mode = 022}, 4096);
  if (!text) {
    if (text.error().sys == ENOENT) return fail(kErrTryAgainLater, q + ": not written yet: is zl-meshd running?");
    return fail(kErrInvalidConfig, q + ": " + text.error().msg);
  }
  std::string_view v = *text;
  if (v.ends_with('\n')) v.remove_suffix(1);
  auto n = net::IpNet::parse(v);
  if (!n || v.find('\0') != std::string_view::npos) {
    return fail(kErrInvalidConfig, q + ": \"" + printable(v) + "\" is not a CIDR");
  }
  return *n;
}

std::vector<net::IpNet> ipam_subnets(const NetConf& c) {
  std::vector<net::IpNet> out;
  if (!c.ipam) return out;
  auto add = [&](const JVal& range) {
    std::optional<net::IpNet> n;
    if (const JVal* s = member(range, "subnet"); s && s->IsString()) {
      n = net::IpNet::parse(std::string_view(s->GetString(), s->GetStringLength()));
    } else if (const JVal* f = member(range, "subnetFile"); f && f->IsString()) {
      auto r = read_subnet_file(std::string(f->GetString(), f->GetStringLength()), "subnetFile");
      if (r) n = *r;
    }  // the IPAM plugin itself reports bad ranges
    if (n && std::find(out.begin(), out.end(), n->masked()) == out.end()) out.push_back(n->masked());
  };
  add(*c.ipam);
  if (const JVal* sets = member(*c.ipam, "ranges"); sets && sets->IsArray()) {
    for (const auto& set : sets->GetArray()) {
      if (!set.IsArray()) continue;
      for (const auto& r : set.GetArray()) add(r);
    }
  }
  return out;
}

Result<std::vector<std::string>> args_cni_strings(const NetConf& c, std::string_view key) {
  const JVal* cni = c.args ? member(*c.args, "cni") : nullptr;
  if (cni && !cni->IsObject()) return fail(kErrInvalidConfig, "args.cni: expected an object, got " + json_snippet(*cni));
  return string_list(cni, key, "args.cni." + std::string(key));
}

Result<std::vector<std::string>> runtime_strings(const NetConf& c, std::string_view key) {
  return string_list(c.runtime_config, key, "runtimeConfig." + std::string(key));
}

}  // namespace zl::cni
