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
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "libnet/core/file.h"
#include "libnet/core/log.h"
#include "libnet/firewall/backend_plans.h"
#include "libnet/firewall/backends.h"

namespace zl::net::fw {

// The tables read (handles kept for the changes) and the xtables lock held meanwhile.
struct IptcTable {
  uint32_t family;
  std::string name;
  std::shared_ptr<xtc_handle> h;
};
struct IptcSnapshot {
  std::optional<FileLock> lock;
  Snapshot s;
  std::vector<IptcTable> handles;
};

namespace {


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
  std::optional<IpNet> src;
  std::optional<IpNet> dst;
  std::string in;
  std::string out;
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


// ---- the snapshot: every table read once, its handle kept for the changes ----

template <class F>
ChainState read_chain(xtc_handle* h, const char* c, const std::string& table) {
  ChainState out;
  out.ref = ChainRef{F::kFamily, table, c};
  out.base = F::builtin(c, h);
  const char* pol = out.base ? F::policy(c, h) : nullptr;
  out.drops = pol && std::strcmp(pol, IPTC_LABEL_ACCEPT) != 0;
  for (const auto* e = F::first_rule(c, h); e; e = F::next_rule(e, h)) {
    const char* t = F::get_target(e, h);
    out.rules.push_back(RuleState{.key = fingerprint_read<F>(e, h), .comment = entry_comment<F>(e), .target = t ? t : ""});
  }
  return out;
}

template <class F>
Status read_table(IptcSnapshot& snap, const std::string& table) {
  for (const IptcTable& t : snap.handles)
    if (t.family == F::kFamily && t.name == table) return {};
  std::shared_ptr<xtc_handle> h(F::init(table.c_str()), [](xtc_handle* x) {
    if (x) F::free(x);
  });
  if (!h) return iptc_error<F>(errno, "read table " + table);
  snap.s.tables.push_back(TableState{.family = F::kFamily, .name = table});
  for (const char* c = F::first_chain(h.get()); c; c = F::next_chain(h.get()))
    snap.s.chains.push_back(read_chain<F>(h.get(), c, table));
  snap.handles.push_back(IptcTable{F::kFamily, table, std::move(h)});
  return {};
}

// The tables already instantiated, and those `want` puts chains in (reading one instantiates
// it, so a table is never created just to find it empty).
template <class F>
Status read_family(IptcSnapshot& snap, const Desired* want) {
  std::vector<std::string> tables = instantiated_tables<F>();
  if (want) {
    for (const WantChain& c : want->chains)
      if (c.ref.family == F::kFamily) tables.push_back(c.ref.table);
  }
  for (const std::string& t : tables) {
    if (auto s = read_table<F>(snap, t); !s) return s;
  }
  return {};
}

Status read(IptcSnapshot& snap, const Desired* want) {
  if (!snap.lock) {
    auto l = xtables_lock();
    if (!l) return std::move(l).error();
    snap.lock.emplace(std::move(*l));
  }
  if (auto s = read_family<V4>(snap, want); !s) return s;
  return read_family<V6>(snap, want);
}

// ---- the network in plan terms ----

struct Built {
  Desired want;
  std::vector<RuleSpec> specs;  // WantRule::ref indexes these
};

std::string spec_text(const RuleSpec& r) {
  std::string out;
  if (r.src) out += "-s " + r.src->str() + " ";
  if (r.dst) out += "-d " + r.dst->str() + " ";
  if (!r.in.empty()) out += "-i " + r.in + " ";
  if (!r.out.empty()) out += "-o " + r.out + " ";
  return out + "-j " + r.target_name();
}

template <class F>
WantRule want_rule(Built& b, RuleSpec r) {
  WantRule w{.key = fingerprint_spec<F>(r), .comment = r.comment, .target = r.target == Target::kJump ? r.jump : "",
             .text = spec_text(r), .ref = b.specs.size()};
  b.specs.push_back(std::move(r));
  return w;
}

// One chain of ours (`rules` empty: it must not exist) and, when wanted, the jump to it.
template <class F>
void own_chain(Built& b, const char* table, const char* hook, const std::string& chain, const std::string& cm,
               const std::vector<RuleSpec>& rules) {
  ChainRef ref{F::kFamily, table, chain};
  if (rules.empty()) {
    b.want.absent.push_back(ref);
    return;
  }
  WantChain c{.ref = ref};
  for (const RuleSpec& r : rules) c.rules.push_back(want_rule<F>(b, r));
  b.want.chains.push_back(std::move(c));
  RuleSpec jump{.target = Target::kJump, .jump = chain, .comment = cm};
  b.want.hooks.push_back(WantHook{ChainRef{F::kFamily, table, hook}, {want_rule<F>(b, jump)}});
}

template <class F>
std::vector<RuleSpec> masq_specs(const NetworkRules& r, const std::string& cm) {
  std::vector<RuleSpec> out;
  std::vector<IpNet> src = of_family<F>(r.sources);
  if (!r.masquerade || src.empty()) return out;
  std::vector<IpNet> keep = src;
  for (const IpNet& n : of_family<F>(r.exclude)) {
    if (std::find(keep.begin(), keep.end(), n) == keep.end()) keep.push_back(n);
  }
  keep.push_back(*IpNet::parse(F::kFamily == AF_INET ? "224.0.0.0/4" : "ff00::/8"));
  for (const IpNet& d : keep) out.push_back(RuleSpec{.dst = d, .target = Target::kReturn, .comment = cm});
  for (const IpNet& s : src) out.push_back(RuleSpec{.src = s, .target = Target::kMasquerade, .comment = cm});
  return out;
}

template <class F>
void build_family(Built& b, const NetworkRules& r, bool fwd_wanted) {
  const std::string fcm = fwd_comment(r.network), mcm = masq_comment(r.network);
  std::vector<RuleSpec> fwd;
  if (fwd_wanted && !r.bridge.empty()) {
    fwd.push_back(RuleSpec{.in = r.bridge, .target = Target::kAccept, .comment = fcm});
    fwd.push_back(RuleSpec{.out = r.bridge, .target = Target::kAccept, .comment = fcm});
  }
  own_chain<F>(b, "filter", "FORWARD", fwd_chain(r.network), fcm, fwd);
  own_chain<F>(b, "nat", "POSTROUTING", masq_chain(r.network), mcm, masq_specs<F>(r, mcm));
}

Built build(const NetworkRules& r) {
  Built b;
  b.want.network = r.network;
  b.want.comments = {masq_comment(r.network), fwd_comment(r.network)};
  bool v4 = false, v6 = false;
  for (const IpNet& n : r.sources) (n.addr.family == AF_INET ? v4 : v6) = true;
  if (!v4 && !v6) v4 = v6 = true;  // no subnets known: accept the bridge's traffic in both
  build_family<V4>(b, r, v4);
  build_family<V6>(b, r, v6);
  return b;
}

// ---- the executor ----

template <class F>
bool run_op(xtc_handle* h, const IptcOp& op, const std::vector<RuleSpec>& specs) {
  const char* c = op.chain.c_str();
  switch (op.kind) {
    case IptcOp::Kind::kCreateChain: return F::create_chain(c, h);
    case IptcOp::Kind::kDeleteChain: return F::flush(c, h) && F::delete_chain(c, h);
    case IptcOp::Kind::kInsert: {
      EntryBlob<F> b(specs.at(op.ref));
      return F::insert(c, b.get(), op.pos, h);
    }
    case IptcOp::Kind::kDelete: return F::delete_num(c, op.pos, h);
  }
  return false;
}

IptcTable* handle_of(IptcSnapshot& snap, uint32_t family, const std::string& table) {
  for (IptcTable& t : snap.handles)
    if (t.family == family && t.name == table) return &t;
  return nullptr;
}

// Applies the ops to the handles, then commits each table changed once. EAGAIN: the table
// changed under us (a writer that ignores the xtables lock).
Status execute(IptcSnapshot& snap, const Plan& p, const std::vector<RuleSpec>& specs) {
  std::vector<IptcTable*> dirty;
  for (const IptcOp& op : iptc_ops(p)) {
    IptcTable* t = handle_of(snap, op.family, op.table);
    if (!t) return Error{ENOENT, 0, "iptables: table " + op.table + " not read"};
    const bool v4 = op.family == AF_INET;
    if (!(v4 ? run_op<V4>(t->h.get(), op, specs) : run_op<V6>(t->h.get(), op, specs))) {
      return v4 ? iptc_error<V4>(errno, op.str()) : iptc_error<V6>(errno, op.str());
    }
    if (std::find(dirty.begin(), dirty.end(), t) == dirty.end()) dirty.push_back(t);
  }
  for (IptcTable* t : dirty) {
    const bool v4 = t->family == AF_INET;
    if (v4 ? V4::commit(t->h.get()) : V6::commit(t->h.get())) continue;
    return v4 ? iptc_error<V4>(errno, "commit table " + t->name) : iptc_error<V6>(errno, "commit table " + t->name);
  }
  return {};
}

// Read (or take the probe's read), plan, apply; redone on EAGAIN with a fresh read.
Status sync(std::shared_ptr<IptcSnapshot> probe, const Built& b) {
  for (int attempt = 0;; ++attempt) {
    IptcSnapshot snap;
    if (probe) snap = std::move(*probe);
    probe.reset();
    if (auto s = read(snap, &b.want); !s) return s;
    Plan p = make_plan(b.want, snap.s);
    if (p.refused) return Error{EEXIST, 0, p.clashes.front()};
    for (const std::string& c : p.clashes) log("iptables: " + c + "; leaving it alone");
    Status s = execute(snap, p, b.specs);
    if (s || s.error().sys != EAGAIN || attempt >= 4) return s;
    probe = std::make_shared<IptcSnapshot>();
    probe->lock = std::move(snap.lock);
  }
}

bool in_use_in(const Snapshot& s) {
  for (const ChainState& c : s.chains) {
    if (c.ref.name.starts_with(kChainPrefix)) continue;
    if (!c.base || c.drops) return true;
    for (const RuleState& r : c.rules)
      if (!r.target.starts_with(kChainPrefix)) return true;
  }
  return false;
}

}  // namespace

Desired iptc_desired(const NetworkRules& r) { return build(r).want; }

std::string IptcOp::str() const {
  std::string out = family == AF_INET ? "ip " : "ip6 ";
  out += table + ": ";
  switch (kind) {
    case Kind::kCreateChain: return out + "create chain " + chain;
    case Kind::kDeleteChain: return out + "delete chain " + chain;
    case Kind::kInsert: return out + "insert " + chain + " " + std::to_string(pos) + ": " + rule;
    case Kind::kDelete: return out + "delete " + chain + " " + std::to_string(pos);
  }
  return out;
}

std::vector<IptcOp> iptc_ops(const Plan& p) {
  using K = Change::Kind;
  std::vector<IptcOp> out;
  for (const Change& c : p.changes) {
    IptcOp op{.kind = IptcOp::Kind::kInsert, .family = c.where.family, .table = c.where.table, .chain = c.where.name};
    switch (c.kind) {
      case K::kAddTable:
      case K::kDelTable: continue;  // legacy tables are the kernel's
      case K::kAddChain: op.kind = IptcOp::Kind::kCreateChain; break;
      case K::kDelChain: op.kind = IptcOp::Kind::kDeleteChain; break;
      case K::kAddRule:
        op.pos = c.top ? 0 : static_cast<unsigned>(c.pos);
        op.rule = c.rule.text;
        op.ref = c.rule.ref;
        break;
      case K::kDelRule:
        op.kind = IptcOp::Kind::kDelete;
        op.pos = static_cast<unsigned>(c.pos);
        break;
    }
    out.push_back(std::move(op));
  }
  return out;
}

Status IptablesFirewall::ensure(const NetworkRules& rules) {
  if (auto s = validate(rules); !s) return s;
  if (auto s = sync(std::move(probe_), build(rules)); !s) return s.error().wrap("network " + rules.network);
  return {};
}

Status IptablesFirewall::remove(const std::string& network) {
  auto b = build(NetworkRules{network, {}, {}, {}, false});
  if (auto s = sync(std::move(probe_), b); !s) return s.error().wrap("remove network " + network);
  return {};
}

Result<std::vector<std::string>> IptablesFirewall::check(const NetworkRules& rules) {
  if (auto s = validate(rules); !s) return std::move(s).error();
  IptcSnapshot snap;
  if (probe_) snap = std::move(*probe_);
  probe_.reset();
  Built b = build(rules);
  if (auto s = read(snap, &b.want); !s) return std::move(s).error();
  return make_plan(b.want, snap.s).describe();  // the handles go uncommitted
}

Result<bool> IptablesFirewall::present(const std::string& network) {
  IptcSnapshot snap;
  if (probe_) snap = std::move(*probe_);
  probe_.reset();
  if (auto s = read(snap, nullptr); !s) return std::move(s).error();
  const std::string chains[] = {fwd_chain(network), masq_chain(network)};
  for (const ChainState& c : snap.s.chains) {
    if (std::find(std::begin(chains), std::end(chains), c.ref.name) != std::end(chains)) return true;
  }
  return false;
}

Result<bool> IptablesFirewall::probe() {
  auto snap = std::make_shared<IptcSnapshot>();
  if (auto s = read(*snap, nullptr); !s) return std::move(s).error();
  bool used = in_use_in(snap->s);
  probe_ = std::move(snap);
  return used;
}

}  // namespace zl::net::fw
