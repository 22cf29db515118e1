#include "libcni/conf.h"

#include <algorithm>

#include "libcni/env.h"
#include "libcni/errors.h"
#include "libnet/core/file.h"
#include "libcni/version.h"

namespace zl::cni {
namespace {

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

// cniVersion (supported) and name (a valid identifier).
Status parse_identity(const JVal& root, NetConf& c) {
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
  if (auto s = parse_identity(root, c); !s) return std::move(s).error();
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

Error AttachmentArg::invalid(std::string_view why) const {
  return fail(source.starts_with("CNI_ARGS") ? kErrInvalidEnv : kErrInvalidConfig,
              source + " \"" + printable(value) + "\": " + std::string(why));
}

namespace {

// args.cni, if present; code 7 when it is not an object.
Result<const JVal*> args_cni(const NetConf& c) {
  const JVal* cni = c.args ? member(*c.args, "cni") : nullptr;
  if (cni && !cni->IsObject()) return fail(kErrInvalidConfig, "args.cni: expected an object, got " + json_snippet(*cni));
  return cni;
}

}  // namespace

Result<std::optional<AttachmentArg>> attachment_arg(const NetConf& c, std::string_view key,
                                                    std::string_view cni_args_key, std::string_view cni_args_value) {
  auto cni = args_cni(c);
  if (!cni) return std::move(cni).error();
  for (auto [obj, prefix] : {std::pair{c.runtime_config, "runtimeConfig."}, std::pair{*cni, "args.cni."}}) {
    if (!obj) continue;
    const std::string src = prefix + std::string(key);
    auto v = get_string(*obj, key, src);
    if (!v) return std::move(v).error();
    if (*v) return std::optional<AttachmentArg>(AttachmentArg{src, std::move(**v)});
  }
  if (cni_args_value.empty()) return std::optional<AttachmentArg>();
  return std::optional<AttachmentArg>(AttachmentArg{"CNI_ARGS " + std::string(cni_args_key), std::string(cni_args_value)});
}

Result<std::vector<AttachmentArg>> attachment_args(const NetConf& c, std::string_view key,
                                                   std::string_view cni_args_key, std::string_view cni_args_value) {
  auto cni = args_cni(c);
  if (!cni) return std::move(cni).error();
  std::vector<AttachmentArg> out;
  for (auto [obj, prefix] : {std::pair{c.runtime_config, "runtimeConfig."}, std::pair{*cni, "args.cni."}}) {
    const std::string src = prefix + std::string(key);
    auto list = obj ? get_strings(*obj, key, src) : Result<std::vector<std::string>>(std::vector<std::string>{});
    if (!list) return std::move(list).error();
    for (auto& v : *list) out.push_back({src, std::move(v)});
  }
  while (!cni_args_value.empty()) {
    auto comma = cni_args_value.find(',');
    out.push_back({"CNI_ARGS " + std::string(cni_args_key), std::string(cni_args_value.substr(0, comma))});
    cni_args_value = comma == std::string_view::npos ? std::string_view{} : cni_args_value.substr(comma + 1);
  }
  return out;
}

}  // namespace zl::cni
