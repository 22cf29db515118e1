// The pure firewall planner: desired rules + a snapshot of the kernel's -> a list of changes.
#include "libnet/firewall/plan.h"

#include <algorithm>
#include <tuple>

#include "libnet/firewall/names.h"

namespace zl::net::fw {
namespace {

using Kind = Change::Kind;

const char* family_str(uint32_t f) {
  switch (f) {
    case kFamInet: return "inet";
    case kFamIp: return "ip";
    case kFamIp6: return "ip6";
  }
  return "?";
}

bool is_zl(const RuleState& r) { return r.comment.starts_with(kCommentPrefix) || r.target.starts_with(kChainPrefix); }

bool same(const RuleState& h, const WantRule& w) { return !h.key.empty() && h.key == w.key && h.comment == w.comment; }

// The plan under construction, in buckets applied in this order.
struct Builder {
  std::vector<Change> pre, tables, chains, dels, adds, chain_dels, table_dels;
  std::vector<std::string> clashes;

  void del_rule(const ChainRef& c, size_t pos, const RuleState& r) {
    Change x{.kind = Kind::kDelRule, .where = c, .pos = pos, .id = r.id};
    x.rule.comment = r.comment;
    x.rule.text = r.target.empty() ? std::string{} : "-j " + r.target;
    dels.push_back(std::move(x));
  }
  void add_rule(const ChainRef& c, const WantRule& w, size_t pos, std::optional<uint64_t> before, bool top) {
    adds.push_back(Change{.kind = Kind::kAddRule, .where = c, .rule = w, .pos = pos, .before = before, .top = top});
  }
  void add_chain(std::vector<Change>& to, const WantChain& wc) {
    to.push_back(Change{.kind = Kind::kAddChain, .where = wc.ref, .chain = wc});
  }
  void table(std::vector<Change>& to, Kind k, uint32_t family, const std::string& name) {
    to.push_back(Change{.kind = k, .where = ChainRef{.family = family, .table = name}});
  }
  Plan finish() {
    std::stable_sort(dels.begin(), dels.end(), [](const Change& a, const Change& b) {
      return std::tie(a.where.family, a.where.table, a.where.name, b.pos) <
             std::tie(b.where.family, b.where.table, b.where.name, a.pos);
    });
    Plan p;
    for (auto* v : {&pre, &tables, &chains, &dels, &adds, &chain_dels, &table_dels})
      for (Change& c : *v) p.changes.push_back(std::move(c));
    p.clashes = std::move(clashes);
    return p;
  }
};

bool has_comment(const Desired& d, const std::string& c) {
  return std::find(d.comments.begin(), d.comments.end(), c) != d.comments.end();
}

// The first comment of another network among `rules`, if any.
std::optional<std::string> foreign_comment(const Desired& d, const std::vector<RuleState>& rules) {
  for (const RuleState& r : rules) {
    if (r.comment.starts_with(kCommentPrefix) && !has_comment(d, r.comment)) return r.comment;
  }
  return std::nullopt;
}

std::string clash_text(const std::string& where, const std::string& other) {
  return where + " holds rules commented \"" + other + "\": two network names share a hash; rename one";
}

bool in_own_table(const Desired& d, const ChainRef& c) {
  return !d.own_table.empty() && c.family == d.own_table_family && c.table == d.own_table;
}

// A chain of ours by definition: in our table, or one of our (wanted or absent) chains.
bool own_chain(const Desired& d, const ChainRef& c) {
  if (in_own_table(d, c)) return true;
  if (std::any_of(d.chains.begin(), d.chains.end(), [&](const WantChain& w) { return w.ref == c; })) return true;
  return std::find(d.absent.begin(), d.absent.end(), c) != d.absent.end();
}

// Whether `r`, in a chain we do not own, is one of ours: our comment, or a jump to our chain.
bool ours(const Desired& d, const ChainRef& in, const RuleState& r) {
  if (has_comment(d, r.comment)) return true;
  return !r.target.empty() && own_chain(d, ChainRef{in.family, in.table, r.target});
}

// Rules already in place are kept (in order), the missing ones added, the rest of ours removed.
void plan_chain_rules(Builder& b, const WantChain& w, const ChainState& have) {
  std::vector<std::optional<size_t>> kept(w.rules.size());  // want index -> have index
  size_t j = 0;
  for (size_t i = 0; i < w.rules.size(); ++i) {
    for (size_t k = j; k < have.rules.size(); ++k) {
      if (!same(have.rules[k], w.rules[i])) continue;
      for (size_t x = j; x < k; ++x) b.del_rule(have.ref, x, have.rules[x]);
      kept[i] = k;
      j = k + 1;
      break;
    }
  }
  for (size_t x = j; x < have.rules.size(); ++x) b.del_rule(have.ref, x, have.rules[x]);
  for (size_t i = 0; i < w.rules.size(); ++i) {
    if (kept[i]) continue;
    std::optional<uint64_t> before;
    for (size_t n = i + 1; n < w.rules.size() && !before; ++n)
      if (kept[n]) before = have.rules[*kept[n]].id;
    b.add_rule(w.ref, w.rules[i], i, before, false);
  }
}

void plan_new_chain(Builder& b, const WantChain& w) {
  b.add_chain(b.chains, w);
  for (size_t i = 0; i < w.rules.size(); ++i) b.add_rule(w.ref, w.rules[i], i, std::nullopt, false);
}

bool chain_matches(const WantChain& w, const ChainState& c) {
  return c.base == w.base && (!w.base || (c.type == w.type && c.hook == w.hook && c.prio == w.prio && !c.drops));
}

// nftables: our own table; any chain that differs in kind means the table is built anew.
void plan_own_table(Builder& b, const Desired& d, const Snapshot& s) {
  const bool exists = s.table(d.own_table_family, d.own_table) != nullptr;
  if (d.chains.empty()) {
    if (exists) b.table(b.table_dels, Kind::kDelTable, d.own_table_family, d.own_table);
    return;
  }
  bool current = exists;
  size_t n = 0;
  for (const ChainState& c : s.chains) {
    if (!in_own_table(d, c.ref)) continue;
    ++n;
    auto w = std::find_if(d.chains.begin(), d.chains.end(), [&](const WantChain& x) { return x.ref == c.ref; });
    if (w == d.chains.end() || !chain_matches(*w, c)) current = false;
  }
  if (current && n == d.chains.size()) {
    for (const WantChain& w : d.chains) plan_chain_rules(b, w, *s.chain(w.ref));
    return;
  }
  if (exists) b.table(b.pre, Kind::kDelTable, d.own_table_family, d.own_table);
  b.table(b.tables, Kind::kAddTable, d.own_table_family, d.own_table);
  for (const WantChain& w : d.chains) plan_new_chain(b, w);
}

// iptables: single chains of ours in shared tables.
void plan_own_chains(Builder& b, const Desired& d, const Snapshot& s) {
  for (const WantChain& w : d.chains) {
    const ChainState* c = s.chain(w.ref);
    if (c) {
      plan_chain_rules(b, w, *c);
    } else {
      plan_new_chain(b, w);
    }
  }
  for (const ChainRef& r : d.absent) {
    if (s.chain(r)) b.chain_dels.push_back(Change{.kind = Kind::kDelChain, .where = r});
  }
}

// Our rules first in a chain we do not own (other networks' rules may sit above them).
void plan_hook(Builder& b, const Desired& d, const ChainState& c, const std::vector<WantRule>& want) {
  std::vector<size_t> mine;
  bool ok = true, foreign_above = false;
  for (size_t i = 0; i < c.rules.size(); ++i) {
    const RuleState& r = c.rules[i];
    if (ours(d, c.ref, r)) {
      if (foreign_above || mine.size() >= want.size() || !same(r, want[mine.size()])) ok = false;
      mine.push_back(i);
    } else if (!is_zl(r)) {
      foreign_above = true;
    }
  }
  if (ok && mine.size() == want.size()) return;
  for (size_t i : mine) b.del_rule(c.ref, i, c.rules[i]);
  for (auto it = want.rbegin(); it != want.rend(); ++it) b.add_rule(c.ref, *it, 0, std::nullopt, true);
}

bool writable(const Snapshot& s, const ChainRef& c) {
  const TableState* t = s.table(c.family, c.table);
  return t && !t->owned && !t->dormant;
}

// A table flagged owner (`nft -o`, firewalld) refuses changes from anyone but its owner.
bool not_owned(const Snapshot& s, const ChainRef& c) {
  const TableState* t = s.table(c.family, c.table);
  return !t || !t->owned;
}

// nftables: foreign forward filter base chains that can drop what our accepts let through.
std::vector<const ChainState*> forward_targets(const Desired& d, const Snapshot& s) {
  std::vector<const ChainState*> out;
  if (d.forward_everywhere.empty()) return out;
  for (const ChainState& c : s.chains) {
    const uint32_t f = c.ref.family;
    if (!c.base || c.hook != kHookForward || c.type != "filter" || c.ref.table.starts_with(kTablePrefix)) continue;
    if (f != kFamInet && f != kFamIp && f != kFamIp6) continue;
    bool needs = c.drops || std::any_of(c.rules.begin(), c.rules.end(),
                                        [](const RuleState& r) { return !r.comment.starts_with(kCommentPrefix); });
    if (needs && writable(s, c.ref)) out.push_back(&c);
  }
  return out;
}

void find_clashes(Builder& b, const Desired& d, const Snapshot& s, std::vector<ChainRef>& clashing) {
  if (!d.own_table.empty()) {
    for (const ChainState& c : s.chains) {
      if (!in_own_table(d, c.ref)) continue;
      if (auto other = foreign_comment(d, c.rules)) {
        b.clashes.push_back(clash_text(std::string(family_str(d.own_table_family)) + " table " + d.own_table, *other));
        clashing.push_back(c.ref);
        return;
      }
    }
    return;
  }
  for (const ChainState& c : s.chains) {
    if (!own_chain(d, c.ref)) continue;
    if (auto other = foreign_comment(d, c.rules)) {
      b.clashes.push_back(clash_text("chain " + c.ref.str(), *other));
      clashing.push_back(c.ref);
    }
  }
}

// Rules of ours anywhere else: stale (the chain no longer needs them, or we are going away).
void plan_stale(Builder& b, const Desired& d, const Snapshot& s, const std::vector<const ChainState*>& handled,
                const std::vector<ChainRef>& clashing) {
  for (const ChainState& c : s.chains) {
    if (own_chain(d, c.ref) || !not_owned(s, c.ref)) continue;
    if (!d.own_table.empty() && c.ref.table.starts_with(kTablePrefix)) continue;  // other networks' tables
    if (std::any_of(handled.begin(), handled.end(), [&](const ChainState* h) { return h == &c; })) continue;
    for (size_t i = 0; i < c.rules.size(); ++i) {
      const RuleState& r = c.rules[i];
      ChainRef to{c.ref.family, c.ref.table, r.target};
      if (!r.target.empty() && std::find(clashing.begin(), clashing.end(), to) != clashing.end()) continue;
      if (ours(d, c.ref, r)) b.del_rule(c.ref, i, r);
    }
  }
}

}  // namespace

std::string ChainRef::str() const {
  std::string out = family_str(family);
  out += ' ';
  out += table;
  if (!name.empty()) out += ' ' + name;
  return out;
}

const TableState* Snapshot::table(uint32_t family, const std::string& name) const {
  for (const TableState& t : tables)
    if (t.family == family && t.name == name) return &t;
  return nullptr;
}

const ChainState* Snapshot::chain(const ChainRef& r) const {
  for (const ChainState& c : chains)
    if (c.ref == r) return &c;
  return nullptr;
}

Plan make_plan(const Desired& d, const Snapshot& s) {
  Builder b;
  std::vector<ChainRef> clashing;
  find_clashes(b, d, s, clashing);
  const bool refused = std::any_of(clashing.begin(), clashing.end(), [&](const ChainRef& c) {
    return in_own_table(d, c) ? !d.chains.empty()
                              : std::any_of(d.chains.begin(), d.chains.end(), [&](const WantChain& w) { return w.ref == c; });
  });
  if (refused) {  // nothing is changed
    Plan p = b.finish();
    p.refused = true;
    return p;
  }
  if (clashing.empty() && !d.own_table.empty()) {
    plan_own_table(b, d, s);
  } else if (d.own_table.empty()) {
    Desired rest = d;
    std::erase_if(rest.absent, [&](const ChainRef& r) {
      return std::find(clashing.begin(), clashing.end(), r) != clashing.end();
    });
    plan_own_chains(b, rest, s);
  }
  std::vector<const ChainState*> handled;
  for (const WantHook& h : d.hooks) {
    const ChainState* c = s.chain(h.chain);
    if (!c) continue;
    plan_hook(b, d, *c, h.rules);
    handled.push_back(c);
  }
  for (const ChainState* c : forward_targets(d, s)) {
    plan_hook(b, d, *c, d.forward_everywhere);
    handled.push_back(c);
  }
  plan_stale(b, d, s, handled, clashing);
  return b.finish();
}

std::string Change::describe() const {
  switch (kind) {
    case Kind::kAddTable: return "add table " + where.str();
    case Kind::kDelTable: return "delete table " + where.str();
    case Kind::kAddChain: return "add chain " + where.str();
    case Kind::kDelChain: return "delete chain " + where.str() + " (and its rules)";
    case Kind::kAddRule: {
      std::string how = top ? "insert at the top of " : before ? "insert (before handle " + std::to_string(*before) + ") into " : "append to ";
      return "rule missing: " + how + where.str() + ": " + rule.text;
    }
    case Kind::kDelRule: {
      std::string out = "delete rule " + std::to_string(pos + 1);
      if (id) out += " (handle " + std::to_string(id) + ")";
      out += " of " + where.str();
      if (!rule.text.empty()) out += ": " + rule.text;
      if (!rule.comment.empty()) out += " \"" + rule.comment + "\"";
      return out;
    }
  }
  return {};
}

std::vector<std::string> Plan::describe() const {
  std::vector<std::string> out;
  for (const std::string& c : clashes) out.push_back("clash: " + c);
  for (const Change& c : changes) out.push_back(c.describe());
  return out;
}

}  // namespace zl::net::fw
