// The firewall planner, without a kernel, for both backends: the network's rules as each
// backend encodes them + a snapshot → the changes, and the iptc ops / nftables batch they become.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "libnet/firewall/backend_plans.h"
#include "libnet/firewall/names.h"
#include "libnet/firewall/plan.h"

using namespace zl::net;
using namespace zl::net::fw;
using Kind = Change::Kind;

namespace {

NetworkRules net_rules(const std::string& network = "podnet") {
  return NetworkRules{network, "zlbr0", {*IpNet::parse("10.22.0.0/24")}, {*IpNet::parse("192.168.0.0/16")}, true};
}

NetworkRules removal(const std::string& network = "podnet") { return NetworkRules{network, {}, {}, {}, false}; }

ChainState builtin(uint32_t family, const std::string& table, const std::string& name) {
  return ChainState{ChainRef{family, table, name}, true, {}, 0, 0, false, {}};
}

// Legacy xtables with nothing but the built-in chains we use.
Snapshot iptc_empty() {
  Snapshot s;
  for (uint32_t f : {kFamIp, kFamIp6}) {
    s.tables.push_back(TableState{f, "filter", false, false});
    s.tables.push_back(TableState{f, "nat", false, false});
    s.chains.push_back(builtin(f, "filter", "FORWARD"));
    s.chains.push_back(builtin(f, "nat", "POSTROUTING"));
  }
  return s;
}

RuleState foreign_rule(const std::string& key = "foreign DROP") { return RuleState{key, {}, "DROP", 7}; }

// nftables with the `ip filter FORWARD` iptables-nft makes, dropping.
Snapshot nft_host() {
  Snapshot s;
  s.tables.push_back(TableState{kFamIp, "filter", false, false});
  ChainState c{ChainRef{kFamIp, "filter", "FORWARD"}, true, "filter", kHookForward, 0, true, {}};
  c.rules.push_back(foreign_rule());
  s.chains.push_back(c);
  return s;
}

ChainState* find(Snapshot& s, const ChainRef& r) {
  for (ChainState& c : s.chains)
    if (c.ref == r) return &c;
  return nullptr;
}

void prepend(ChainState& c, const std::vector<WantRule>& rules, uint64_t& handle) {
  std::vector<RuleState> head;
  for (const WantRule& w : rules) head.push_back(RuleState{w.key, w.comment, w.target, handle++});
  c.rules.insert(c.rules.begin(), head.begin(), head.end());
}

// `base` with everything `d` wants installed, as the kernel would report it.
Snapshot installed(Snapshot s, const Desired& d) {
  uint64_t handle = 100;
  if (!d.own_table.empty()) s.tables.push_back(TableState{d.own_table_family, d.own_table, false, false});
  std::vector<ChainState> foreign_fwd;
  for (const ChainState& c : s.chains)
    if (c.base && c.hook == kHookForward && c.type == "filter" && !c.ref.table.starts_with("zl-")) foreign_fwd.push_back(c);
  for (const WantChain& w : d.chains) {
    ChainState c{w.ref, w.base, w.type, w.hook, w.prio, false, {}};
    for (const WantRule& r : w.rules) c.rules.push_back(RuleState{r.key, r.comment, r.target, handle++});
    s.chains.push_back(c);
  }
  for (const WantHook& h : d.hooks) prepend(*find(s, h.chain), h.rules, handle);
  for (const ChainState& f : foreign_fwd) prepend(*find(s, f.ref), d.forward_everywhere, handle);
  return s;
}

size_t count(const Plan& p, Kind k) {
  return static_cast<size_t>(std::count_if(p.changes.begin(), p.changes.end(), [&](const Change& c) { return c.kind == k; }));
}

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(what) != std::string::npos; });
}

}  // namespace

TEST_CASE("firewall plan, iptables: empty kernel gets the full set, in order") {
  Desired d = iptc_desired(net_rules());
  Plan p = make_plan(d, iptc_empty());
  // v4 only (the sources are v4): ZL-FWD (2 accepts) + ZL-MASQ (2 RETURNs + multicast + MASQUERADE) + 2 jumps.
  CHECK(count(p, Kind::kAddChain) == 2);
  CHECK(count(p, Kind::kAddRule) == 8);
  CHECK(count(p, Kind::kDelRule) == 0);
  CHECK(p.clashes.empty());
  auto ops = iptc_ops(p);
  REQUIRE(ops.size() == 10);
  CHECK(ops[0].kind == IptcOp::Kind::kCreateChain);
  CHECK(ops[0].str() == "ip filter: create chain " + fwd_chain("podnet"));
  CHECK(ops[1].str() == "ip nat: create chain " + masq_chain("podnet"));
  CHECK(ops[2].str() == "ip filter: insert " + fwd_chain("podnet") + " 0: -i zlbr0 -j ACCEPT");
  CHECK(ops[3].str() == "ip filter: insert " + fwd_chain("podnet") + " 1: -o zlbr0 -j ACCEPT");
  CHECK(ops[7].str() == "ip nat: insert " + masq_chain("podnet") + " 3: -s 10.22.0.0/24 -j MASQUERADE");
  CHECK(ops[8].str() == "ip filter: insert FORWARD 0: -j " + fwd_chain("podnet"));
  CHECK(ops[9].str() == "ip nat: insert POSTROUTING 0: -j " + masq_chain("podnet"));
  auto lines = p.describe();
  CHECK(lines.size() == p.changes.size());
  CHECK(mentions(lines, "add chain ip nat " + masq_chain("podnet")));
}

TEST_CASE("firewall plan, iptables: complete is an empty plan; one rule missing is just that rule") {
  Desired d = iptc_desired(net_rules());
  Snapshot s = installed(iptc_empty(), d);
  CHECK(make_plan(d, s).empty());

  ChainState* masq = find(s, ChainRef{kFamIp, "nat", masq_chain("podnet")});
  REQUIRE(masq);
  REQUIRE(masq->rules.size() == 4);
  masq->rules.erase(masq->rules.begin() + 1);  // the exclude's RETURN
  Plan p = make_plan(d, s);
  REQUIRE(p.changes.size() == 1);
  CHECK(p.changes[0].kind == Kind::kAddRule);
  auto ops = iptc_ops(p);
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].str() == "ip nat: insert " + masq_chain("podnet") + " 1: -d 192.168.0.0/16 -j RETURN");
}

TEST_CASE("firewall plan, iptables: foreign rules in the hook chain are left alone, ours move above them") {
  Desired d = iptc_desired(net_rules());
  Snapshot s = installed(iptc_empty(), d);
  ChainState* fwd = find(s, ChainRef{kFamIp, "filter", "FORWARD"});
  fwd->rules.push_back(foreign_rule());  // below our jump: fine
  CHECK(make_plan(d, s).empty());

  std::swap(fwd->rules[0], fwd->rules[1]);  // the DROP now above our jump
  Plan p = make_plan(d, s);
  auto ops = iptc_ops(p);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0].str() == "ip filter: delete FORWARD 1");  // our jump, not the DROP at 0
  CHECK(ops[1].str() == "ip filter: insert FORWARD 0: -j " + fwd_chain("podnet"));
}

TEST_CASE("firewall plan, iptables: a rule not ours inside our chain goes (the chain is ours alone)") {
  Desired d = iptc_desired(net_rules());
  Snapshot s = installed(iptc_empty(), d);
  find(s, ChainRef{kFamIp, "filter", fwd_chain("podnet")})->rules.push_back(foreign_rule());
  auto ops = iptc_ops(make_plan(d, s));
  REQUIRE(ops.size() == 1);
  CHECK(ops[0].str() == "ip filter: delete " + fwd_chain("podnet") + " 2");
}

TEST_CASE("firewall plan, iptables: another network's chain of the same name is a clash, nothing changed") {
  Desired d = iptc_desired(net_rules());
  Snapshot s = iptc_empty();
  ChainState other{ChainRef{kFamIp, "filter", fwd_chain("podnet")}, false, {}, 0, 0, false, {}};
  other.rules.push_back(RuleState{"x", comment("othernet", "forward"), "ACCEPT", 0});
  s.chains.push_back(other);
  Plan p = make_plan(d, s);
  CHECK(p.changes.empty());
  CHECK(p.refused);
  REQUIRE(p.clashes.size() == 1);
  CHECK(p.clashes[0].find("chain ip filter " + fwd_chain("podnet")) != std::string::npos);
  CHECK(p.clashes[0].find("zl-cni othernet forward") != std::string::npos);
  CHECK(mentions(p.describe(), "clash: "));
  // Removing the network leaves that chain alone too.
  Plan r = make_plan(iptc_desired(removal()), s);
  CHECK(r.changes.empty());
  CHECK(!r.refused);
  CHECK(r.clashes.size() == 1);
}

TEST_CASE("firewall plan, iptables: a clash where nothing is wanted (v6 of a v4 network) is left alone") {
  Desired d = iptc_desired(net_rules());
  Snapshot s = iptc_empty();
  ChainState other{.ref = ChainRef{kFamIp6, "filter", fwd_chain("podnet")}};
  other.rules.push_back(RuleState{.key = "x", .comment = comment("othernet", "forward"), .target = "ACCEPT"});
  s.chains.push_back(other);
  find(s, ChainRef{kFamIp6, "filter", "FORWARD"})->rules.push_back(
      RuleState{.key = "j", .comment = comment("othernet", "forward"), .target = fwd_chain("podnet")});
  Plan p = make_plan(d, s);
  CHECK(!p.refused);
  CHECK(p.clashes.size() == 1);
  CHECK(count(p, Kind::kAddChain) == 2);  // v4 still set up
  for (const Change& c : p.changes) CHECK(c.where.family == kFamIp);  // v6: nothing touched
}

TEST_CASE("firewall plan, iptables: DEL of the last user removes exactly ours") {
  Desired mine = iptc_desired(net_rules());
  Desired theirs = iptc_desired(net_rules("othernet"));
  Snapshot s = installed(installed(iptc_empty(), theirs), mine);
  find(s, ChainRef{kFamIp, "filter", "FORWARD"})->rules.push_back(foreign_rule());
  Plan p = make_plan(iptc_desired(removal()), s);
  CHECK(count(p, Kind::kDelRule) == 2);  // the two jumps
  CHECK(count(p, Kind::kDelChain) == 2);
  CHECK(count(p, Kind::kAddRule) == 0);
  auto ops = iptc_ops(p);
  REQUIRE(ops.size() == 4);
  // FORWARD is [our jump, their jump, DROP]: ours is rule 0.
  CHECK(ops[0].str() == "ip filter: delete FORWARD 0");
  CHECK(ops[1].str() == "ip nat: delete POSTROUTING 0");
  CHECK(ops[2].str() == "ip filter: delete chain " + fwd_chain("podnet"));
  CHECK(ops[3].str() == "ip nat: delete chain " + masq_chain("podnet"));
  // And once gone, removing again is nothing.
  Snapshot after = installed(iptc_empty(), theirs);
  CHECK(make_plan(iptc_desired(removal()), after).empty());
}

TEST_CASE("firewall plan, nftables: empty kernel gets the table, its chains, and the accepts in foreign drops") {
  NftDesired d = nft_desired(net_rules());
  Plan p = make_plan(d.want, nft_host());
  CHECK(count(p, Kind::kAddTable) == 1);
  CHECK(count(p, Kind::kAddChain) == 2);
  CHECK(count(p, Kind::kAddRule) == 4 + 2 + 2);  // masq chain, own forward, ip filter FORWARD
  auto batch = nft_batch_summary(p, d);
  const std::string t = "inet " + nft_table("podnet");
  REQUIRE(batch.size() == 2 + 1 + 2 + 8);
  CHECK(batch.front() == "begin");
  CHECK(batch.back() == "end");
  CHECK(batch[1] == "add table " + t);
  CHECK(batch[2] == "add chain " + t + " postrouting");
  CHECK(batch[3] == "add chain " + t + " forward");
  CHECK(batch[4] == "add rule to " + t + " postrouting");
  CHECK(std::count(batch.begin(), batch.end(), "insert rule into ip filter FORWARD") == 2);
}

TEST_CASE("firewall plan, nftables: complete is empty; one rule missing is just that rule, in its place") {
  NftDesired d = nft_desired(net_rules());
  Snapshot s = installed(nft_host(), d.want);
  CHECK(make_plan(d.want, s).empty());

  ChainState* post = find(s, ChainRef{kFamInet, nft_table("podnet"), "postrouting"});
  REQUIRE(post);
  REQUIRE(post->rules.size() == 4);
  const uint64_t next = post->rules[2].id;
  post->rules.erase(post->rules.begin() + 1);
  Plan p = make_plan(d.want, s);
  REQUIRE(p.changes.size() == 1);
  CHECK(p.changes[0].kind == Kind::kAddRule);
  REQUIRE(p.changes[0].before);
  CHECK(*p.changes[0].before == next);
  auto batch = nft_batch_summary(p, d);
  REQUIRE(batch.size() == 3);
  CHECK(batch[1] == "insert rule before handle " + std::to_string(next) + " into inet " + nft_table("podnet") +
                        " postrouting");
}

TEST_CASE("firewall plan, nftables: a foreign rule above our accepts: ours moved up, theirs untouched") {
  NftDesired d = nft_desired(net_rules());
  Snapshot s = installed(nft_host(), d.want);
  ChainState* fwd = find(s, ChainRef{kFamIp, "filter", "FORWARD"});
  std::rotate(fwd->rules.begin(), fwd->rules.end() - 1, fwd->rules.end());  // DROP first
  Plan p = make_plan(d.want, s);
  CHECK(count(p, Kind::kDelRule) == 2);
  CHECK(count(p, Kind::kAddRule) == 2);
  for (const Change& c : p.changes) {
    CHECK(c.where == fwd->ref);
    if (c.kind == Kind::kDelRule) CHECK(c.id != 7);  // the foreign DROP's handle
  }
}

TEST_CASE("firewall plan, nftables: a chain that no longer drops loses our accepts; a bad chain rebuilds the table") {
  NftDesired d = nft_desired(net_rules());
  Snapshot s = installed(nft_host(), d.want);
  ChainState* fwd = find(s, ChainRef{kFamIp, "filter", "FORWARD"});
  fwd->drops = false;
  fwd->rules.pop_back();  // only ours left: nothing to protect against
  Plan p = make_plan(d.want, s);
  CHECK(count(p, Kind::kDelRule) == 2);
  CHECK(p.changes.size() == 2);

  Snapshot t = installed(nft_host(), d.want);
  find(t, ChainRef{kFamInet, nft_table("podnet"), "forward"})->prio = 10;
  Plan q = make_plan(d.want, t);
  REQUIRE(!q.changes.empty());
  CHECK(q.changes[0].kind == Kind::kDelTable);
  CHECK(count(q, Kind::kAddTable) == 1);
}

TEST_CASE("firewall plan, nftables: another network's table of the same name is a clash; DEL removes exactly ours") {
  NftDesired d = nft_desired(net_rules());
  Snapshot s = installed(nft_host(), d.want);
  Snapshot clash = s;
  find(clash, ChainRef{kFamInet, nft_table("podnet"), "forward"})->rules[0].comment = comment("othernet", "forward");
  Plan p = make_plan(d.want, clash);
  CHECK(p.changes.empty());
  CHECK(p.refused);
  REQUIRE(p.clashes.size() == 1);
  CHECK(p.clashes[0].find("zl-cni othernet forward") != std::string::npos);

  NftDesired theirs = nft_desired(net_rules("othernet"));
  Snapshot both = installed(installed(nft_host(), theirs.want), d.want);
  NftDesired del = nft_desired(removal());
  Plan r = make_plan(del.want, both);
  CHECK(count(r, Kind::kDelTable) == 1);
  CHECK(count(r, Kind::kDelRule) == 2);  // our two accepts in ip filter FORWARD
  for (const Change& c : r.changes) {
    if (c.kind == Kind::kDelTable) CHECK(c.where.table == nft_table("podnet"));
    if (c.kind == Kind::kDelRule) CHECK(c.rule.comment == fwd_comment("podnet"));
  }
  auto batch = nft_batch_summary(r, del);
  CHECK(batch.back() == "end");
  CHECK(mentions(batch, "delete table inet " + nft_table("podnet")));
}

TEST_CASE("firewall plan: owned and dormant foreign tables are never written") {
  NftDesired d = nft_desired(net_rules());
  Snapshot s = nft_host();
  s.tables[0].owned = true;
  Plan p = make_plan(d.want, s);
  for (const Change& c : p.changes) CHECK(c.where.table != "filter");
  s.tables[0].owned = false;
  s.tables[0].dormant = true;
  for (const Change& c : make_plan(d.want, s).changes) CHECK(c.where.table != "filter");
}
