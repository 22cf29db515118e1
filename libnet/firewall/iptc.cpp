// Legacy xtables backend: libip4tc / libip6tc, entries built by hand, one commit per table.
//
// Per network and family:
//   filter: FORWARD  -> (first rule)  -m comment -j ZL-FWD-<hash>
//           ZL-FWD-<hash>:  -i <bridge> -j ACCEPT ; -o <bridge> -j ACCEPT
//   nat:    POSTROUTING -> (first rule) -m comment -j ZL-MASQ-<hash>
//           ZL-MASQ-<hash>: -d <each source, exclude, multicast> -j RETURN ; -s <each source> -j MASQUERADE
// A table is only committed when it differs from that, so ensure() on a current table is a read.
#include <fcntl.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include <climits>
// libip6tc.h, unlike libiptc.h, lacks its own extern "C" (iptables 1.8.9); everything it
// includes is already in, so only its declarations land in the block.
extern "C" {
#include <libiptc/libip6tc.h>
}
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_comment.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "libnet/core/file.h"
#include "libnet/core/log.h"
#include "libnet/firewall/backends.h"

namespace zl::net::fw {
namespace {

bool starts_with(const char* s, std::string_view p) { return s && std::string_view(s).starts_with(p); }

void set_prefix(const IpNet& n, void* addr, void* mask) {
  IpNet m = n.masked();
  std::memcpy(addr, m.addr.b.data(), m.addr.size());
  auto* mk = static_cast<uint8_t*>(mask);
  for (int i = 0; i < m.len; ++i) mk[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
}

void set_iface(const std::string& name, char* iface, unsigned char* mask) {
  // Exact match: the name and its terminating NUL are significant (as xtables_parse_interface).
  std::memcpy(iface, name.data(), name.size());
  std::memset(mask, 0xff, name.size() + 1);
}

// The family-specific half of libiptc, so the logic below is written once.
struct V4 {
  using Entry = ipt_entry;
  static constexpr int kFamily = AF_INET;
  static constexpr std::string_view kTool = "iptables";
  static constexpr const char* kNames = "/proc/net/ip_tables_names";
  static constexpr size_t kMasqSize = sizeof(nf_nat_ipv4_multi_range_compat);
  static xtc_handle* init(const char* t) { return iptc_init(t); }
  static void free(xtc_handle* h) { iptc_free(h); }
  static int commit(xtc_handle* h) { return iptc_commit(h); }
  static const char* strerror(int e) { return iptc_strerror(e); }
  static const char* first_chain(xtc_handle* h) { return iptc_first_chain(h); }
  static const char* next_chain(xtc_handle* h) { return iptc_next_chain(h); }
  static const Entry* first_rule(const char* c, xtc_handle* h) { return iptc_first_rule(c, h); }
  static const Entry* next_rule(const Entry* e, xtc_handle* h) { return iptc_next_rule(e, h); }
  static const char* get_target(const Entry* e, xtc_handle* h) { return iptc_get_target(e, h); }
  static bool builtin(const char* c, xtc_handle* h) { return iptc_builtin(c, h) != 0; }
  static const char* policy(const char* c, xtc_handle* h) {
    xt_counters n{};
    return iptc_get_policy(c, &n, h);
  }
  static bool is_chain(const char* c, xtc_handle* h) { return iptc_is_chain(c, h) != 0; }
  static int create_chain(const char* c, xtc_handle* h) { return iptc_create_chain(c, h); }
  static int flush(const char* c, xtc_handle* h) { return iptc_flush_entries(c, h); }
  static int delete_chain(const char* c, xtc_handle* h) { return iptc_delete_chain(c, h); }
  static int insert(const char* c, const Entry* e, unsigned n, xtc_handle* h) { return iptc_insert_entry(c, e, n, h); }
  static int append(const char* c, const Entry* e, xtc_handle* h) { return iptc_append_entry(c, e, h); }
  static int delete_num(const char* c, unsigned n, xtc_handle* h) { return iptc_delete_num_entry(c, n, h); }
  static const ipt_ip& ip(const Entry& e) { return e.ip; }
  static void set_src(Entry& e, const IpNet& n) { set_prefix(n, &e.ip.src, &e.ip.smsk); }
  static void set_dst(Entry& e, const IpNet& n) { set_prefix(n, &e.ip.dst, &e.ip.dmsk); }
  static void set_in(Entry& e, const std::string& i) { set_iface(i, e.ip.iniface, e.ip.iniface_mask); }
  static void set_out(Entry& e, const std::string& i) { set_iface(i, e.ip.outiface, e.ip.outiface_mask); }
  static void fill_masq(void* data) {
    // Kernel masquerade_tg_check() insists on exactly one range; all zero = any address/port.
    static_cast<nf_nat_ipv4_multi_range_compat*>(data)->rangesize = 1;
  }
};

struct V6 {
  using Entry = ip6t_entry;
  static constexpr int kFamily = AF_INET6;
  static constexpr std::string_view kTool = "ip6tables";
  static constexpr const char* kNames = "/proc/net/ip6_tables_names";
  static constexpr size_t kMasqSize = sizeof(nf_nat_range);
  static xtc_handle* init(const char* t) { return ip6tc_init(t); }
  static void free(xtc_handle* h) { ip6tc_free(h); }
  static int commit(xtc_handle* h) { return ip6tc_commit(h); }
  static const char* strerror(int e) { return ip6tc_strerror(e); }
  static const char* first_chain(xtc_handle* h) { return ip6tc_first_chain(h); }
  static const char* next_chain(xtc_handle* h) { return ip6tc_next_chain(h); }
  static const Entry* first_rule(const char* c, xtc_handle* h) { return ip6tc_first_rule(c, h); }
  static const Entry* next_rule(const Entry* e, xtc_handle* h) { return ip6tc_next_rule(e, h); }
  static const char* get_target(const Entry* e, xtc_handle* h) { return ip6tc_get_target(e, h); }
  static bool builtin(const char* c, xtc_handle* h) { return ip6tc_builtin(c, h) != 0; }
  static const char* policy(const char* c, xtc_handle* h) {
    xt_counters n{};
    return ip6tc_get_policy(c, &n, h);
  }
  static bool is_chain(const char* c, xtc_handle* h) { return ip6tc_is_chain(c, h) != 0; }
  static int create_chain(const char* c, xtc_handle* h) { return ip6tc_create_chain(c, h); }
  static int flush(const char* c, xtc_handle* h) { return ip6tc_flush_entries(c, h); }
  static int delete_chain(const char* c, xtc_handle* h) { return ip6tc_delete_chain(c, h); }
  static int insert(const char* c, const Entry* e, unsigned n, xtc_handle* h) { return ip6tc_insert_entry(c, e, n, h); }
  static int append(const char* c, const Entry* e, xtc_handle* h) { return ip6tc_append_entry(c, e, h); }
  static int delete_num(const char* c, unsigned n, xtc_handle* h) { return ip6tc_delete_num_entry(c, n, h); }
  static const ip6t_ip6& ip(const Entry& e) { return e.ipv6; }
  static void set_src(Entry& e, const IpNet& n) { set_prefix(n, &e.ipv6.src, &e.ipv6.smsk); }
  static void set_dst(Entry& e, const IpNet& n) { set_prefix(n, &e.ipv6.dst, &e.ipv6.dmsk); }
  static void set_in(Entry& e, const std::string& i) { set_iface(i, e.ipv6.iniface, e.ipv6.iniface_mask); }
  static void set_out(Entry& e, const std::string& i) { set_iface(i, e.ipv6.outiface, e.ipv6.outiface_mask); }
  static void fill_masq(void*) {}  // nf_nat_range all zero: no address map, any port
};

// libiptc handle owner.
template <class F>
class Handle {
 public:
  explicit Handle(xtc_handle* h) : h_(h) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (h_) F::free(h_);
  }
  xtc_handle* get() const { return h_; }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  xtc_handle* h_;
};

template <class F>
Error iptc_error(int e, std::string_view what) {
  std::string m(F::kTool);
  m += ": ";
  m += what;
  m += ": ";
  m += F::strerror(e);
  return Error{e, 0, std::move(m)};
}

enum class Target { kAccept, kReturn, kJump, kMasquerade };

struct RuleSpec {
  std::optional<IpNet> src, dst;
  std::string in, out;
  Target target = Target::kAccept;
  std::string jump;  // chain name for kJump
  std::string comment;

  const char* target_name() const {
    switch (target) {
      case Target::kAccept: return IPTC_LABEL_ACCEPT;
      case Target::kReturn: return IPTC_LABEL_RETURN;
      case Target::kJump: return jump.c_str();
      case Target::kMasquerade: return "MASQUERADE";
    }
    return "";
  }
};

// An entry as libiptc wants it: ip header match, one comment match, one target. Stored in
// uint64_t so the entry (which holds u64 counters) is suitably aligned.
template <class F>
class EntryBlob {
 public:
  explicit EntryBlob(const RuleSpec& r) {
    using Entry = typename F::Entry;
    const size_t match_size = XT_ALIGN(sizeof(xt_entry_match)) + XT_ALIGN(sizeof(xt_comment_info));
    const size_t target_size = r.target == Target::kMasquerade
                                   ? XT_ALIGN(sizeof(xt_entry_target)) + XT_ALIGN(F::kMasqSize)
                                   : XT_ALIGN(sizeof(xt_standard_target));
    const size_t size = XT_ALIGN(sizeof(Entry)) + match_size + target_size;
    mem_.assign((size + 7) / 8, 0);
    Entry& e = *entry();
    if (r.src) F::set_src(e, *r.src);
    if (r.dst) F::set_dst(e, *r.dst);
    if (!r.in.empty()) F::set_in(e, r.in);
    if (!r.out.empty()) F::set_out(e, r.out);
    e.target_offset = static_cast<uint16_t>(XT_ALIGN(sizeof(Entry)) + match_size);
    e.next_offset = static_cast<uint16_t>(size);

    auto* m = reinterpret_cast<xt_entry_match*>(bytes() + XT_ALIGN(sizeof(Entry)));
    m->u.user.match_size = static_cast<uint16_t>(match_size);
    std::strncpy(m->u.user.name, "comment", sizeof m->u.user.name - 1);
    auto* info = reinterpret_cast<xt_comment_info*>(m->data);
    std::strncpy(info->comment, r.comment.c_str(), XT_MAX_COMMENT_LEN - 1);

    auto* t = reinterpret_cast<xt_entry_target*>(bytes() + e.target_offset);
    t->u.user.target_size = static_cast<uint16_t>(target_size);
    std::strncpy(t->u.user.name, r.target_name(), sizeof t->u.user.name - 1);
    if (r.target == Target::kMasquerade) F::fill_masq(t->data);
  }
  const typename F::Entry* get() const { return reinterpret_cast<const typename F::Entry*>(mem_.data()); }

 private:
  typename F::Entry* entry() { return reinterpret_cast<typename F::Entry*>(mem_.data()); }
  char* bytes() { return reinterpret_cast<char*>(mem_.data()); }
  std::vector<uint64_t> mem_;
};

// What makes two entries the same rule: the ip header match, every match with its data, the
// target by name (libiptc resolves jumps and verdicts) and, for a module target, its data.
// Counters and kernel bookkeeping are left out.
template <class F>
std::string fingerprint(const typename F::Entry* e, const char* target, bool module_target) {
  const char* base = reinterpret_cast<const char*>(e);
  std::string out(reinterpret_cast<const char*>(&F::ip(*e)), sizeof(F::ip(*e)));
  for (size_t off = sizeof(*e); off + sizeof(xt_entry_match) <= e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    size_t sz = m->u.match_size;
    if (sz < sizeof(xt_entry_match) || off + sz > e->target_offset) break;
    out.append(m->u.user.name, strnlen(m->u.user.name, sizeof m->u.user.name));
    out += '\0';
    out += static_cast<char>(m->u.user.revision);
    out.append(reinterpret_cast<const char*>(m->data), sz - sizeof(xt_entry_match));
    off += sz;
  }
  out += '|';
  out += target ? target : "";
  if (module_target && e->target_offset + sizeof(xt_entry_target) <= e->next_offset) {
    const auto* t = reinterpret_cast<const xt_entry_target*>(base + e->target_offset);
    size_t sz = std::min<size_t>(t->u.target_size, e->next_offset - e->target_offset);
    if (sz > sizeof(xt_entry_target)) out.append(reinterpret_cast<const char*>(t->data), sz - sizeof(xt_entry_target));
  }
  return out;
}

// Fingerprint of an entry read back from the kernel: standard targets come back nameless.
template <class F>
std::string fingerprint_read(const typename F::Entry* e, xtc_handle* h) {
  const auto* t = reinterpret_cast<const xt_entry_target*>(reinterpret_cast<const char*>(e) + e->target_offset);
  return fingerprint<F>(e, F::get_target(e, h), t->u.user.name[0] != '\0');
}

template <class F>
std::string fingerprint_spec(const RuleSpec& r) {
  EntryBlob<F> b(r);
  return fingerprint<F>(b.get(), r.target_name(), r.target == Target::kMasquerade);
}

// The text of an entry's comment match, or "".
template <class F>
std::string entry_comment(const typename F::Entry* e) {
  const char* base = reinterpret_cast<const char*>(e);
  for (size_t off = sizeof(*e); off + sizeof(xt_entry_match) <= e->target_offset;) {
    const auto* m = reinterpret_cast<const xt_entry_match*>(base + off);
    size_t sz = m->u.match_size;
    if (sz < sizeof(xt_entry_match) || off + sz > e->target_offset) break;
    if (std::strncmp(m->u.user.name, "comment", sizeof m->u.user.name) == 0 &&
        sz >= sizeof(xt_entry_match) + sizeof(xt_comment_info)) {
      const auto* info = reinterpret_cast<const xt_comment_info*>(m->data);
      return std::string(info->comment, strnlen(info->comment, sizeof info->comment));
    }
    off += sz;
  }
  return {};
}

// Another network's comment in chain `c`: its hash clashes with ours (the chain names are equal).
template <class F>
std::optional<std::string> clashing_comment(xtc_handle* h, const char* c, const std::string& ours) {
  for (const auto* e = F::first_rule(c, h); e; e = F::next_rule(e, h)) {
    std::string cm = entry_comment<F>(e);
    if (cm.starts_with(kCommentPrefix) && cm != ours) return cm;
  }
  return std::nullopt;
}

// Tables of this family already instantiated in the current netns.
template <class F>
std::vector<std::string> instantiated_tables() {
  std::vector<std::string> out;
  auto text = read_file(F::kNames);
  if (!text) return out;  // module not loaded: no legacy tables at all
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    if (nl == std::string::npos) nl = text->size();
    if (nl > pos) out.emplace_back(text->substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

template <class F>
bool instantiated(const std::string& table) {
  auto t = instantiated_tables<F>();
  return std::find(t.begin(), t.end(), table) != t.end();
}

// One of our chains in one table, and the jump to it from a built-in chain.
struct ChainPlan {
  std::string table;  // "filter" | "nat"
  std::string hook;   // "FORWARD" | "POSTROUTING"
  std::string chain;  // ZL-…
  std::vector<RuleSpec> rules;  // empty: the chain and its jumps must not exist
  RuleSpec jump;
};

template <class F>
Status apply(xtc_handle* h, const ChainPlan& p, bool& dirty) {
  const char* c = p.chain.c_str();
  std::vector<std::string> want;
  for (const RuleSpec& r : p.rules) want.push_back(fingerprint_spec<F>(r));

  bool fill = false;
  if (!F::is_chain(c, h)) {
    if (!F::create_chain(c, h)) return iptc_error<F>(errno, "create chain " + p.chain);
    fill = true;
  } else if (auto other = clashing_comment<F>(h, c, p.jump.comment)) {
    return Error{EEXIST, 0, "chain " + p.chain + " holds rules commented \"" + *other + "\", not \"" + p.jump.comment +
                                "\": two network names share a hash; rename one"};
  } else {
    std::vector<std::string> have;
    for (const auto* e = F::first_rule(c, h); e; e = F::next_rule(e, h)) have.push_back(fingerprint_read<F>(e, h));
    if (have != want) {
      if (!F::flush(c, h)) return iptc_error<F>(errno, "flush chain " + p.chain);
      fill = true;
    }
  }
  if (fill) {
    dirty = true;
    for (const RuleSpec& r : p.rules) {
      EntryBlob<F> b(r);
      if (!F::append(c, b.get(), h)) return iptc_error<F>(errno, "append to chain " + p.chain);
    }
  }

  // Exactly one jump, above every rule that is not another network's jump (so a DROP below it
  // cannot win, and two networks do not keep swapping places).
  const std::string jump_fp = fingerprint_spec<F>(p.jump);
  const char* hook = p.hook.c_str();
  std::vector<unsigned> ours;
  bool first_ok = false, foreign_above = false;
  unsigned n = 0;
  for (const auto* e = F::first_rule(hook, h); e; e = F::next_rule(e, h), ++n) {
    const char* t = F::get_target(e, h);
    if (t && p.chain == t) {
      if (ours.empty()) first_ok = !foreign_above && fingerprint_read<F>(e, h) == jump_fp;
      ours.push_back(n);
    } else if (!starts_with(t, kChainPrefix)) {
      foreign_above = true;
    }
  }
  if (ours.size() == 1 && first_ok) return {};
  for (auto it = ours.rbegin(); it != ours.rend(); ++it) {
    if (!F::delete_num(hook, *it, h)) return iptc_error<F>(errno, "delete jump from " + p.hook);
  }
  EntryBlob<F> j(p.jump);
  if (!F::insert(hook, j.get(), 0, h)) return iptc_error<F>(errno, "insert jump into " + p.hook);
  dirty = true;
  return {};
}

template <class F>
Status purge(xtc_handle* h, const std::string& chain, const std::string& comment, bool& dirty) {
  const char* c = chain.c_str();
  if (!F::is_chain(c, h)) return {};
  if (auto other = clashing_comment<F>(h, c, comment)) {
    log(std::string(F::kTool) + ": chain " + chain + " belongs to another network (\"" + *other + "\"), leaving it alone");
    return {};
  }
  std::vector<std::string> chains;
  for (const char* name = F::first_chain(h); name; name = F::next_chain(h)) chains.emplace_back(name);
  for (const std::string& from : chains) {
    std::vector<unsigned> refs;
    unsigned n = 0;
    for (const auto* e = F::first_rule(from.c_str(), h); e; e = F::next_rule(e, h), ++n) {
      const char* t = F::get_target(e, h);
      if (t && chain == t) refs.push_back(n);
    }
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
      if (!F::delete_num(from.c_str(), *it, h)) return iptc_error<F>(errno, "delete jump from " + from);
    }
  }
  if (!F::flush(c, h)) return iptc_error<F>(errno, "flush chain " + chain);
  if (!F::delete_chain(c, h)) return iptc_error<F>(errno, "delete chain " + chain);
  dirty = true;
  return {};
}

template <class F>
Status sync(const ChainPlan& p) {
  const bool want = !p.rules.empty();
  if (!want && !instantiated<F>(p.table)) return {};  // never instantiate a table to empty it
  for (int attempt = 0;; ++attempt) {
    Handle<F> h(F::init(p.table.c_str()));
    if (!h) return iptc_error<F>(errno, "read table " + p.table);
    bool dirty = false;
    Status s = want ? apply<F>(h.get(), p, dirty) : purge<F>(h.get(), p.chain, p.jump.comment, dirty);
    if (!s) return s.error().wrap("table " + p.table);
    if (!dirty || F::commit(h.get())) return {};
    // EAGAIN: the table changed under us (a writer that ignores the xtables lock); redo.
    if (errno != EAGAIN || attempt >= 4) return iptc_error<F>(errno, "commit table " + p.table);
  }
}

// The xtables lock every iptables binary takes around read-modify-commit.
Result<FileLock> xtables_lock() {
  const char* path = std::getenv("XTABLES_LOCKFILE");
  if (!path || !*path) path = "/run/xtables.lock";
  auto l = FileLock::acquire(path);
  if (!l) return std::move(l).error().wrap("iptables");
  return l;
}

template <class F>
std::vector<IpNet> of_family(const std::vector<IpNet>& v) {
  std::vector<IpNet> out;
  for (const IpNet& n : v) {
    if (n.addr.family != F::kFamily) continue;
    IpNet m = n.masked();
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

template <class F>
ChainPlan fwd_plan(const NetworkRules& r, bool wanted) {
  ChainPlan p{"filter", "FORWARD", fwd_chain(r.network), {}, {}};
  const std::string cm = fwd_comment(r.network);
  p.jump = RuleSpec{{}, {}, {}, {}, Target::kJump, p.chain, cm};
  if (!wanted || r.bridge.empty()) return p;
  p.rules.push_back(RuleSpec{{}, {}, r.bridge, {}, Target::kAccept, {}, cm});
  p.rules.push_back(RuleSpec{{}, {}, {}, r.bridge, Target::kAccept, {}, cm});
  return p;
}

template <class F>
ChainPlan masq_plan(const NetworkRules& r) {
  ChainPlan p{"nat", "POSTROUTING", masq_chain(r.network), {}, {}};
  const std::string cm = masq_comment(r.network);
  p.jump = RuleSpec{{}, {}, {}, {}, Target::kJump, p.chain, cm};
  std::vector<IpNet> src = of_family<F>(r.sources);
  if (!r.masquerade || src.empty()) return p;
  std::vector<IpNet> keep = src;
  for (const IpNet& n : of_family<F>(r.exclude)) {
    if (std::find(keep.begin(), keep.end(), n) == keep.end()) keep.push_back(n);
  }
  keep.push_back(*IpNet::parse(F::kFamily == AF_INET ? "224.0.0.0/4" : "ff00::/8"));
  for (const IpNet& d : keep) p.rules.push_back(RuleSpec{{}, d, {}, {}, Target::kReturn, {}, cm});
  for (const IpNet& s : src) p.rules.push_back(RuleSpec{s, {}, {}, {}, Target::kMasquerade, {}, cm});
  return p;
}

template <class F>
Status ensure_family(const NetworkRules& r, bool fwd_wanted) {
  if (auto s = sync<F>(fwd_plan<F>(r, fwd_wanted)); !s) return s;
  return sync<F>(masq_plan<F>(r));
}

template <class F>
Status remove_family(const std::string& network) {
  NetworkRules none{network, {}, {}, {}, false};
  if (auto s = sync<F>(fwd_plan<F>(none, false)); !s) return s;
  return sync<F>(masq_plan<F>(none));
}

template <class F>
Result<bool> present_family(const std::string& network) {
  const std::string chains[] = {fwd_chain(network), masq_chain(network)};
  for (const std::string& table : instantiated_tables<F>()) {
    Handle<F> h(F::init(table.c_str()));
    if (!h) return iptc_error<F>(errno, "read table " + table);
    for (const std::string& c : chains) {
      if (F::is_chain(c.c_str(), h.get())) return true;
    }
  }
  return false;
}

template <class F>
Result<bool> in_use_family() {
  for (const std::string& table : instantiated_tables<F>()) {
    Handle<F> h(F::init(table.c_str()));
    if (!h) return iptc_error<F>(errno, "read table " + table);
    for (const char* c = F::first_chain(h.get()); c; c = F::next_chain(h.get())) {
      if (starts_with(c, kChainPrefix)) continue;
      if (!F::builtin(c, h.get())) return true;
      const char* pol = F::policy(c, h.get());
      if (pol && std::strcmp(pol, IPTC_LABEL_ACCEPT) != 0) return true;
      for (const auto* e = F::first_rule(c, h.get()); e; e = F::next_rule(e, h.get())) {
        if (!starts_with(F::get_target(e, h.get()), kChainPrefix)) return true;
      }
    }
  }
  return false;
}

}  // namespace

Status IptablesFirewall::ensure(const NetworkRules& rules) {
  if (auto s = validate(rules); !s) return s;
  auto lock = xtables_lock();
  if (!lock) return std::move(lock).error();
  bool v4 = false, v6 = false;
  for (const IpNet& n : rules.sources) (n.addr.family == AF_INET ? v4 : v6) = true;
  if (!v4 && !v6) v4 = v6 = true;  // no subnets known: accept the bridge's traffic in both
  if (auto s = ensure_family<V4>(rules, v4); !s) return s.error().wrap("network " + rules.network);
  if (auto s = ensure_family<V6>(rules, v6); !s) return s.error().wrap("network " + rules.network);
  return {};
}

Status IptablesFirewall::remove(const std::string& network) {
  auto lock = xtables_lock();
  if (!lock) return std::move(lock).error();
  if (auto s = remove_family<V4>(network); !s) return s.error().wrap("remove network " + network);
  if (auto s = remove_family<V6>(network); !s) return s.error().wrap("remove network " + network);
  return {};
}

Result<bool> IptablesFirewall::present(const std::string& network) {
  auto lock = xtables_lock();
  if (!lock) return std::move(lock).error();
  auto a = present_family<V4>(network);
  if (!a || *a) return a;
  return present_family<V6>(network);
}

Result<bool> IptablesFirewall::in_use() {
  auto lock = xtables_lock();
  if (!lock) return std::move(lock).error();
  auto a = in_use_family<V4>();
  if (!a || *a) return a;
  return in_use_family<V6>();
}

}  // namespace zl::net::fw
