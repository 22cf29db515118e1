#include "libcni/types.h"

#include "libcni/errors.h"
#include "libcni/version.h"

namespace zl::cni {
namespace {

Result<std::optional<net::IpAddr>> get_ip(const JVal& obj, std::string_view key, const std::string& path) {
  auto s = get_string(obj, key, path);
  if (!s) return std::move(s).error();
  if (!*s) return std::optional<net::IpAddr>{};
  auto a = net::IpAddr::parse(**s);
  if (!a) return fail(kErrInvalidConfig, path + " \"" + **s + "\": not an IP address");
  return std::optional<net::IpAddr>{*a};
}

Result<net::IpNet> get_cidr(const JVal& obj, std::string_view key, const std::string& path) {
  auto s = get_string(obj, key, path);
  if (!s) return std::move(s).error();
  if (!*s) return fail(kErrInvalidConfig, path + ": missing");
  auto n = net::IpNet::parse(**s);
  if (!n) return fail(kErrInvalidConfig, path + " \"" + **s + "\": not a CIDR");
  return *n;
}

Status parse_interfaces(const JVal& v, CniResult& r) {
  auto arr = get_array(v, "interfaces", "interfaces");
  if (!arr) return std::move(arr).error();
  if (!*arr) return {};
  size_t i = 0;
  for (const auto& e : (*arr)->GetArray()) {
    std::string p = "interfaces[" + std::to_string(i++) + "]";
    if (!e.IsObject()) return fail(kErrInvalidConfig, p + ": expected an object, got " + json_snippet(e));
    Interface itf;
    auto name = get_string(e, "name", p + ".name");
    auto mac = get_string(e, "mac", p + ".mac");
    auto sandbox = get_string(e, "sandbox", p + ".sandbox");
    auto sock = get_string(e, "socketPath", p + ".socketPath");
    auto pci = get_string(e, "pciID", p + ".pciID");
    auto mtu = get_int(e, "mtu", p + ".mtu", 0, 65535);
    for (const auto* s : {&name, &mac, &sandbox, &sock, &pci})
      if (!*s) return s->error();
    if (!mtu) return std::move(mtu).error();
    itf.name = name->value_or("");
    itf.mac = mac->value_or("");
    itf.sandbox = sandbox->value_or("");
    itf.socket_path = sock->value_or("");
    itf.pci_id = pci->value_or("");
    itf.mtu = static_cast<int>(mtu->value_or(0));
    r.interfaces.push_back(std::move(itf));
  }
  return {};
}

Status parse_ips(const JVal& v, CniResult& r, bool legacy) {
  auto arr = get_array(v, "ips", "ips");
  if (!arr) return std::move(arr).error();
  if (!*arr) return {};
  size_t i = 0;
  for (const auto& e : (*arr)->GetArray()) {
    std::string p = "ips[" + std::to_string(i++) + "]";
    if (!e.IsObject()) return fail(kErrInvalidConfig, p + ": expected an object, got " + json_snippet(e));
    IpConfig ip;
    auto addr = get_cidr(e, "address", p + ".address");
    if (!addr) return std::move(addr).error();
    ip.address = *addr;
    auto gw = get_ip(e, "gateway", p + ".gateway");
    if (!gw) return std::move(gw).error();
    ip.gateway = *gw;
    auto idx = get_int(e, "interface", p + ".interface", 0, 1 << 20);
    if (!idx) return std::move(idx).error();
    if (*idx) ip.interface = static_cast<int>(**idx);
    if (legacy) {
      auto ver = get_string(e, "version", p + ".version");
      if (!ver) return std::move(ver).error();
      if (*ver && **ver != (ip.address.addr.is_v4() ? "4" : "6")) {
        return fail(kErrInvalidConfig, p + ".version \"" + **ver + "\": does not match " + ip.address.str());
      }
    }
    r.ips.push_back(ip);
  }
  return {};
}

void write_strings(JWriter& w, const char* key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  w.Key(key);
  w.StartArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

}  // namespace

Result<std::vector<Route>> parse_routes(const JVal& v, std::string_view key) {
  std::vector<Route> out;
  auto arr = get_array(v, key, key);
  if (!arr) return std::move(arr).error();
  if (!*arr) return out;
  size_t i = 0;
  for (const auto& e : (*arr)->GetArray()) {
    std::string p = std::string(key) + "[" + std::to_string(i++) + "]";
    if (!e.IsObject()) return fail(kErrInvalidConfig, p + ": expected an object, got " + json_snippet(e));
    Route rt;
    auto dst = get_cidr(e, "dst", p + ".dst");
    if (!dst) return std::move(dst).error();
    rt.dst = *dst;
    auto gw = get_ip(e, "gw", p + ".gw");
    if (!gw) return std::move(gw).error();
    rt.gw = *gw;
    auto mtu = get_int(e, "mtu", p + ".mtu", 0, 65535);
    auto advmss = get_int(e, "advmss", p + ".advmss", 0, 65535);
    auto prio = get_int(e, "priority", p + ".priority", 0, INT32_MAX);
    auto table = get_int(e, "table", p + ".table", 0, INT32_MAX);
    auto scope = get_int(e, "scope", p + ".scope", 0, 255);
    for (auto* x : {&mtu, &advmss, &prio, &table, &scope})
      if (!*x) return x->error();
    rt.mtu = static_cast<int>(mtu->value_or(0));
    rt.advmss = static_cast<int>(advmss->value_or(0));
    rt.priority = static_cast<int>(prio->value_or(0));
    if (*table) rt.table = static_cast<int>(**table);
    if (*scope) rt.scope = static_cast<int>(**scope);
    out.push_back(rt);
  }
  return out;
}

Result<Dns> parse_dns(const JVal& v, std::string_view path) {
  Dns d;
  std::string p(path);
  if (!v.IsObject()) return fail(kErrInvalidConfig, p + ": expected an object, got " + json_snippet(v));
  auto ns = get_strings(v, "nameservers", p + ".nameservers");
  auto search = get_strings(v, "search", p + ".search");
  auto opts = get_strings(v, "options", p + ".options");
  auto domain = get_string(v, "domain", p + ".domain");
  for (auto* x : {&ns, &search, &opts})
    if (!*x) return x->error();
  if (!domain) return std::move(domain).error();
  d.nameservers = std::move(*ns);
  d.search = std::move(*search);
  d.options = std::move(*opts);
  d.domain = domain->value_or("");
  return d;
}

Result<CniResult> parse_result(const JVal& v, std::string_view version) {
  if (!is_supported_version(version)) {
    return fail(kErrIncompatibleVersion, "result version \"" + std::string(version) + "\" is not supported");
  }
  if (!v.IsObject()) return fail(kErrInvalidConfig, "result: expected an object, got " + json_snippet(v));
  CniResult r;
  if (auto s = parse_interfaces(v, r); !s) return std::move(s).error();
  // ips[].version ("4"/"6") exists up to 0.4.0 and went away in 1.0.0.
  if (auto s = parse_ips(v, r, !version_at_least(version, "1.0.0")); !s) return std::move(s).error();
  auto routes = parse_routes(v, "routes");
  if (!routes) return std::move(routes).error();
  r.routes = std::move(*routes);
  for (const auto& ip : r.ips) {
    if (ip.interface && static_cast<size_t>(*ip.interface) >= r.interfaces.size()) {
      return fail(kErrInvalidConfig,
                  "ips: interface index " + std::to_string(*ip.interface) + " is out of range");
    }
  }
  if (auto* d = member(v, "dns")) {
    auto dns = parse_dns(*d, "dns");
    if (!dns) return std::move(dns).error();
    r.dns = std::move(*dns);
  }
  return r;
}

Result<CniResult> parse_result_text(std::string_view text, std::string_view version) {
  auto doc = parse_json(text, "result");
  if (!doc) return std::move(doc).error();
  return parse_result(**doc, version);
}

namespace {

void key_string(JWriter& w, const char* key, const std::string& v, bool when = true) {
  if (!when || v.empty()) return;
  w.Key(key);
  w.String(v);
}

void key_int(JWriter& w, const char* key, std::optional<int> v) {
  if (!v) return;
  w.Key(key);
  w.Int(*v);
}

void write_interfaces(JWriter& w, const std::vector<Interface>& list, bool v11) {
  w.Key("interfaces");
  w.StartArray();
  for (const auto& i : list) {
    w.StartObject();
    w.Key("name");
    w.String(i.name);
    key_string(w, "mac", i.mac);
    if (v11 && i.mtu) key_int(w, "mtu", i.mtu);
    key_string(w, "sandbox", i.sandbox);
    key_string(w, "socketPath", i.socket_path, v11);
    key_string(w, "pciID", i.pci_id, v11);
    w.EndObject();
  }
  w.EndArray();
}

void write_ips(JWriter& w, const std::vector<IpConfig>& ips, bool legacy) {
  w.Key("ips");
  w.StartArray();
  for (const auto& ip : ips) {
    w.StartObject();
    if (legacy) key_string(w, "version", ip.address.addr.is_v4() ? "4" : "6");  // ips[].version up to 0.4.0
    key_int(w, "interface", ip.interface);
    key_string(w, "address", ip.address.str());
    if (ip.gateway) key_string(w, "gateway", ip.gateway->str());
    w.EndObject();
  }
  w.EndArray();
}

void write_routes(JWriter& w, const std::vector<Route>& routes, bool v11) {
  w.Key("routes");
  w.StartArray();
  for (const auto& rt : routes) {
    w.StartObject();
    key_string(w, "dst", rt.dst.str());
    if (rt.gw) key_string(w, "gw", rt.gw->str());
    if (v11) {  // 0 is "not set" for these three
      if (rt.mtu) key_int(w, "mtu", rt.mtu);
      if (rt.advmss) key_int(w, "advmss", rt.advmss);
      if (rt.priority) key_int(w, "priority", rt.priority);
      key_int(w, "table", rt.table);
      key_int(w, "scope", rt.scope);
    }
    w.EndObject();
  }
  w.EndArray();
}

void write_dns(JWriter& w, const Dns& dns) {
  w.Key("dns");
  w.StartObject();
  write_strings(w, "nameservers", dns.nameservers);
  key_string(w, "domain", dns.domain);
  write_strings(w, "search", dns.search);
  write_strings(w, "options", dns.options);
  w.EndObject();
}

}  // namespace

void write_result(JWriter& w, const CniResult& r, std::string_view version) {
  const bool v11 = version_at_least(version, "1.1.0");
  w.StartObject();
  w.Key("cniVersion");
  w.String(version.data(), static_cast<rapidjson::SizeType>(version.size()));
  if (!r.interfaces.empty()) write_interfaces(w, r.interfaces, v11);
  if (!r.ips.empty()) write_ips(w, r.ips, !version_at_least(version, "1.0.0"));
  if (!r.routes.empty()) write_routes(w, r.routes, v11);
  if (!r.dns.empty()) write_dns(w, r.dns);
  w.EndObject();
}

std::string result_json(const CniResult& r, std::string_view version) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  write_result(w, r, version);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace zl::cni
