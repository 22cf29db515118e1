// Private to libnet/firewall/: decide, then do. What a network's firewall should be (Desired),
// what the kernel has (Snapshot, read once per operation from the iptc handles or one nftables
// dump) and the pure difference (Plan). Both backends describe themselves in these terms; each
// translates a plan into its own calls (iptc ops on a handle, one nftables batch).
//
// Families are NFPROTO numbers (ip 2, ip6 10, inet 1): AF_INET / AF_INET6 share them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zl::net::fw {

inline constexpr uint32_t kFamInet = 1, kFamIp = 2, kFamIp6 = 10;
inline constexpr uint32_t kHookForward = 2;  // NF_INET_FORWARD

// Where a chain lives.
struct ChainRef {
  uint32_t family = 0;
  std::string table, name;
  bool operator==(const ChainRef&) const = default;
  std::string str() const;  // "ip filter ZL-FWD-…", "inet zl-… forward"
};

// ---- what the kernel has ----

struct RuleState {
  std::string key;      // what the rule does, backend-encoded; "" never matches a wanted rule
  std::string comment;  // "" when none
  std::string target;   // the chain it jumps to (iptables), or ""
  uint64_t id = 0;      // nftables: the rule handle; iptables: unused (rules go by position)
};

struct ChainState {
  ChainRef ref;
  bool base = false;  // a base chain (nftables) / built-in chain (iptables)
  std::string type;   // nftables base chains: "filter", "nat", …
  uint32_t hook = 0;
  int32_t prio = 0;
  bool drops = false;  // policy is not accept
  std::vector<RuleState> rules;  // in chain order
};

struct TableState {
  uint32_t family = 0;
  std::string name;
  bool owned = false;    // nftables NFT_TABLE_F_OWNER: someone else's, never written
  bool dormant = false;  // nftables NFT_TABLE_F_DORMANT: filters nothing
};

struct Snapshot {
  std::vector<TableState> tables;
  std::vector<ChainState> chains;

  const TableState* table(uint32_t family, const std::string& name) const;
  const ChainState* chain(const ChainRef& r) const;
};

// ---- what the network should have ----

struct WantRule {
  std::string key, comment, target;
  std::string text;  // human form for describe()
  size_t ref = 0;    // the backend's index of the rule it built (for the executor)
};

struct WantChain {
  ChainRef ref;
  bool base = false;
  std::string type;
  uint32_t hook = 0;
  int32_t prio = 0;
  std::vector<WantRule> rules;  // exactly these, in this order
};

// Rules of ours at the top of a chain we do not own (above every rule that is not another
// network's), e.g. the jump from FORWARD to ZL-FWD-<hash>.
struct WantHook {
  ChainRef chain;
  std::vector<WantRule> rules;
};

struct Desired {
  std::string network;
  std::vector<std::string> comments;  // every comment of the network's rules
  // nftables: the network's own table (family, name); every chain in it is ours. Empty name:
  // the network owns single chains in shared tables (iptables).
  uint32_t own_table_family = 0;
  std::string own_table;
  // Chains wholly ours: wanted ones carry rules; `absent` ones must not exist.
  std::vector<WantChain> chains;
  std::vector<ChainRef> absent;
  std::vector<WantHook> hooks;
  // nftables: these rules also go to the top of every foreign forward filter base chain (ip,
  // ip6, inet) that drops or holds foreign rules, in a table that is neither dormant nor owned.
  std::vector<WantRule> forward_everywhere;
};

// ---- the difference ----

struct Change {
  enum class Kind { kAddTable, kDelTable, kAddChain, kDelChain, kAddRule, kDelRule };
  Kind kind = Kind::kAddRule;
  ChainRef where;  // for tables: family + table
  WantChain chain;  // kAddChain: its definition (rules not used)
  WantRule rule;    // kAddRule
  // kAddRule: its index in the chain once every earlier change is applied (iptables); `before`
  // the handle of the rule it goes in front of, or none: `top` (head) or append (nftables).
  size_t pos = 0;
  std::optional<uint64_t> before;
  bool top = false;
  // kDelRule: `pos` its index in the snapshot's chain (a chain's deletes come highest index
  // first, before its additions), `id` its handle, `rule.comment` its comment.
  uint64_t id = 0;
  std::string describe() const;
};

struct Plan {
  std::vector<Change> changes;
  // Containers of ours holding another network's rules (its name hashes alike): an error
  // naming them; an ensure() plan with a clash is never executed.
  std::vector<std::string> clashes;
  // A container we want holds another network's rules: the plan holds no change at all and
  // ensure() fails naming the clash. (A clash where we want nothing is only left alone.)
  bool refused = false;

  bool empty() const { return changes.empty() && clashes.empty(); }
  std::vector<std::string> describe() const;  // one line per clash and per change
};

// Pure: the changes that turn `have` into `want`. Wanted rules already in place are kept, only
// missing ones added and stale ones of ours removed; rules that are not ours are never touched.
// A container of ours holding another network's comments is a clash: for a removal (nothing
// wanted) it is left alone and only reported, otherwise the plan holds no change for it.
Plan make_plan(const Desired& want, const Snapshot& have);

}  // namespace zl::net::fw
