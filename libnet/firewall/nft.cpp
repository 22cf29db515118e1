// nftables backend: libnftnl messages in one libmnl batch per change.
//
// Per network:
//   table inet zl-<hash> {
//     chain postrouting { type nat hook postrouting priority srcnat;
//       meta nfproto ipv4 ip daddr <each source, exclude, 224.0.0.0/4> accept   # no NAT
//       meta nfproto ipv4 ip saddr <each source> masquerade   (ip6 likewise, ff00::/8) }
//     chain forward { type filter hook forward priority filter;
//       iifname <bridge> accept ; oifname <bridge> accept } }
// An accept in our table does not override a drop in another table's base chain (every base
// chain on a hook gets its say), so the two forward accepts are also inserted at the top of every
// foreign forward filter base chain (ip, ip6, inet) that drops or holds rules, e.g. the
// `ip filter FORWARD` iptables-nft creates or a user's `inet filter forward`. Those copies carry
// the comment "zl-cni <network> forward" in the rule userdata, which is how remove() finds them.
//
// Every change reads the ruleset (generation id, then dumps), computes the difference and sends
// it as one batch bound to that generation: if anyone changed the ruleset meanwhile the kernel
// refuses the batch with ERESTART and we start over, so concurrent callers never duplicate rules.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "libnet/core/log.h"
#include "libnet/firewall/backend_plans.h"
#include "libnet/firewall/backends.h"
#include "libnet/netlink/receive.h"

namespace zl::net::fw {

// The ruleset as read at one generation.
struct NftSnapshot {
  uint32_t genid = 0;
  Snapshot s;
};

namespace {

constexpr int kAttempts = 10;
constexpr int32_t kPrioSrcNat = 100;  // nft "srcnat" (NF_IP_PRI_NAT_SRC)
constexpr int32_t kPrioFilter = 0;    // nft "filter" (NF_IP_PRI_FILTER)
constexpr size_t kMsgRoom = 1 << 14;  // upper bound for one message we build (rules are < 2 KiB)

Error nft_error(int e, std::string_view what) { return Error::from_errno(e, "nft: " + std::string(what)); }

template <class T>
T* checked(T* p) {
  if (!p) throw std::bad_alloc();
  return p;
}

struct MnlClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
struct RuleFree {
  void operator()(nftnl_rule* r) const { nftnl_rule_free(r); }
};
struct ChainFree {
  void operator()(nftnl_chain* c) const { nftnl_chain_free(c); }
};
struct TableFree {
  void operator()(nftnl_table* t) const { nftnl_table_free(t); }
};
struct UdataFree {
  void operator()(nftnl_udata_buf* b) const { nftnl_udata_buf_free(b); }
};
struct ExprIterFree {
  void operator()(nftnl_expr_iter* i) const { nftnl_expr_iter_destroy(i); }
};
using RulePtr = std::unique_ptr<nftnl_rule, RuleFree>;

// ---- attribute reading (bounds- and type-checked; unknown attributes skipped) ----

template <class Fn>
void for_each_attr(const void* start, const void* end, Fn fn) {
  const auto* a = static_cast<const nlattr*>(start);
  while (mnl_attr_ok(a, static_cast<int>(static_cast<const char*>(end) - reinterpret_cast<const char*>(a)))) {
    fn(a);
    a = mnl_attr_next(a);
  }
}

template <class Fn>
void for_each_msg_attr(const nlmsghdr* nlh, size_t offset, Fn fn) {
  if (mnl_nlmsg_get_payload_len(nlh) < offset) return;
  for_each_attr(mnl_nlmsg_get_payload_offset(nlh, offset), mnl_nlmsg_get_payload_tail(nlh), fn);
}

template <class Fn>
void for_each_nested(const nlattr* nest, Fn fn) {
  const char* p = static_cast<const char*>(mnl_attr_get_payload(nest));
  for_each_attr(p, p + mnl_attr_get_payload_len(nest), fn);
}

std::string attr_str(const nlattr* a) {
  if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return {};
  return mnl_attr_get_str(a);
}

std::optional<uint32_t> attr_be32(const nlattr* a) {
  if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0) return std::nullopt;
  return ntohl(mnl_attr_get_u32(a));
}

uint64_t attr_be64(const nlattr* a) {
  if (!a || mnl_attr_validate(a, MNL_TYPE_U64) < 0) return 0;
  return be64toh(mnl_attr_get_u64(a));
}

uint32_t msg_family(const nlmsghdr* nlh) {
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return NFPROTO_UNSPEC;
  return static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->nfgen_family;
}

// The comment nft keeps in a rule's userdata (TLV list), or "".
std::string udata_comment(const nlattr* a) {
  if (!a) return {};
  const auto* p = static_cast<const unsigned char*>(mnl_attr_get_payload(a));
  const auto* end = p + mnl_attr_get_payload_len(a);
  while (end - p >= 2) {
    uint8_t type = p[0], len = p[1];
    if (end - p - 2 < len) break;
    if (type == NFTNL_UDATA_RULE_COMMENT && len > 0) {
      const char* s = reinterpret_cast<const char*>(p + 2);
      return std::string(s, strnlen(s, len));
    }
    p += 2 + len;
  }
  return {};
}

// What a rule does, as libnftnl prints its expressions: the same for a rule we built and for
// the kernel's copy of it, independent of attribute order.
std::string expr_fingerprint(const nftnl_rule* r) {
  std::string out;
  std::unique_ptr<nftnl_expr_iter, ExprIterFree> it(checked(nftnl_expr_iter_create(r)));
  for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e; e = nftnl_expr_iter_next(it.get())) {
    char buf[1024];
    buf[0] = '\0';
    nftnl_expr_snprintf(buf, sizeof buf, e, NFTNL_OUTPUT_DEFAULT, 0);
    const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
    out += name ? name : "?";
    out += ' ';
    out += buf;
    out += '\n';
  }
  return out;
}

bool is_ours_table(const std::string& name) { return name.starts_with(kTablePrefix); }
bool is_zl_comment(const std::string& c) { return c.starts_with(kCommentPrefix); }

// ---- a batch being built: begin (bound to a generation), messages, end ----

class Batch {
 public:
  Batch(uint32_t& seq, uint32_t genid) : seq_(seq) {
    nlmsghdr* nlh = nftnl_batch_begin(room(), seq_++);
    mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
    first_seq_ = nlh->nlmsg_seq;
    len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  }
  bool empty() const { return what_.empty(); }

  // Appends a message: hdr(type, family, flags) + payload written by `fill`.
  void add(uint16_t type, uint32_t family, uint16_t flags, const std::function<void(nlmsghdr*)>& fill,
           std::string what) {
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(room(), type, static_cast<uint16_t>(family), flags, seq_++);
    fill(nlh);
    if (nlh->nlmsg_len > kMsgRoom) std::abort();  // cannot happen: rules are far smaller
    last_ = len_;
    what_[nlh->nlmsg_seq] = std::move(what);
    len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  }

  // Closes the batch; the last message asks for an ACK so success is visible too.
  void finish() {
    reinterpret_cast<nlmsghdr*>(buf_.data() + last_)->nlmsg_flags |= NLM_F_ACK;
    ack_seq_ = reinterpret_cast<nlmsghdr*>(buf_.data() + last_)->nlmsg_seq;
    nlmsghdr* nlh = nftnl_batch_end(room(), seq_++);
    last_seq_ = nlh->nlmsg_seq;
    len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  }

  const char* data() const { return buf_.data(); }
  size_t size() const { return len_; }
  uint32_t first_seq() const { return first_seq_; }
  uint32_t last_seq() const { return last_seq_; }
  uint32_t ack_seq() const { return ack_seq_; }
  std::string what(uint32_t seq) const {
    auto it = what_.find(seq);
    return it == what_.end() ? "commit batch" : it->second;
  }

 private:
  char* room() {
    buf_.resize(len_ + kMsgRoom);
    std::memset(buf_.data() + len_, 0, kMsgRoom);
    return buf_.data() + len_;
  }
  uint32_t& seq_;
  std::vector<char> buf_;
  size_t len_ = 0, last_ = 0;
  uint32_t first_seq_ = 0, last_seq_ = 0, ack_seq_ = 0;
  std::map<uint32_t, std::string> what_;
};

// ---- the netlink socket ----

class NftSocket {
 public:
  static Result<NftSocket> open() {
    NftSocket s;
    s.nl_.reset(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
    if (!s.nl_) return nft_error(errno, "open netlink socket");
    if (mnl_socket_bind(s.nl_.get(), 0, MNL_SOCKET_AUTOPID) < 0) return nft_error(errno, "bind netlink socket");
    s.portid_ = mnl_socket_get_portid(s.nl_.get());
    int one = 1;
    // Best effort: older kernels lack them; errors then just come without the kernel's text.
    (void)mnl_socket_setsockopt(s.nl_.get(), NETLINK_EXT_ACK, &one, sizeof one);
    (void)mnl_socket_setsockopt(s.nl_.get(), NETLINK_CAP_ACK, &one, sizeof one);
    s.seq_ = static_cast<uint32_t>(time(nullptr));
    return s;
  }

  // NFT_MSG_GET<x> dump of every family. Sets `intr` when the kernel flags the dump as
  // inconsistent (NLM_F_DUMP_INTR: the ruleset changed while dumping).
  Status dump(uint16_t type, std::string_view what, const std::function<void(const nlmsghdr*)>& cb, bool& intr) {
    alignas(nlmsghdr) char req[256] = {};
    uint32_t seq = seq_++;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req, type, NFPROTO_UNSPEC, NLM_F_DUMP, seq);
    if (auto s = send(nlh, nlh->nlmsg_len, what); !s) return s;
    auto r = nl_receive(fd(), portid_, {.first_seq = seq, .is_dump = {true}}, cb, what);
    if (!r) return std::move(r).error();
    if (r->error) return nft_error(r->error, what);
    if (r->interrupted) intr = true;
    return {};
  }

  // The ruleset generation; a batch carrying it is refused (ERESTART) once anything changed.
  Result<uint32_t> genid() {
    alignas(nlmsghdr) char req[256] = {};
    uint32_t seq = seq_++;
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, seq);
    if (auto s = send(nlh, nlh->nlmsg_len, "get generation"); !s) return std::move(s).error();
    std::optional<uint32_t> id;
    auto r = nl_receive(fd(), portid_, {.first_seq = seq, .is_dump = {false}}, [&](const nlmsghdr* m) {
      for_each_msg_attr(m, sizeof(nfgenmsg), [&](const nlattr* a) {
        if (mnl_attr_get_type(a) == NFTA_GEN_ID) id = attr_be32(a);
      });
    }, "get generation");
    if (!r) return std::move(r).error();
    if (r->error) return nft_error(r->error, "get generation");
    if (!id) return nft_error(EPROTO, "get generation: reply without NFTA_GEN_ID");
    return *id;
  }

  // Sends the batch; the kernel handles it synchronously inside sendmsg(), so every reply is
  // queued when send returns and we read until the queue is empty.
  Status commit(Batch& b) {
    b.finish();
    if (b.size() > (1u << 17)) {
      int sz = static_cast<int>(b.size() * 2);
      if (setsockopt(fd(), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
        (void)setsockopt(fd(), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    }
    if (auto s = send(b.data(), b.size(), "send batch"); !s) return s;
    NlExpect x{.first_seq = b.first_seq(), .drain = true};
    x.is_dump.assign(b.last_seq() - b.first_seq() + 1, false);
    auto r = nl_receive(fd(), portid_, x, [](const nlmsghdr*) {}, "read batch replies");
    if (!r) return std::move(r).error();
    if (r->error) {
      std::string what = b.what(r->failed_seq);
      if (!r->ext_ack.empty()) what += " (" + r->ext_ack + ")";
      return nft_error(r->error, what);
    }
    if (!r->answered[b.ack_seq() - b.first_seq()]) return nft_error(EPROTO, "commit batch: no acknowledgement");
    return {};
  }

  uint32_t& seq() { return seq_; }

 private:
  int fd() const { return mnl_socket_get_fd(nl_.get()); }

  Status send(const void* data, size_t len, std::string_view what) {
    for (;;) {
      if (mnl_socket_sendto(nl_.get(), data, len) >= 0) return {};
      if (errno != EINTR) return nft_error(errno, what);
    }
  }

  std::unique_ptr<mnl_socket, MnlClose> nl_;
  uint32_t portid_ = 0, seq_ = 0;
};

TableState parse_table(const nlmsghdr* m) {
  TableState t;
  t.family = msg_family(m);
  uint32_t flags = 0;
  for_each_msg_attr(m, sizeof(nfgenmsg), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_TABLE_NAME: t.name = attr_str(a); break;
      case NFTA_TABLE_FLAGS: flags = attr_be32(a).value_or(0); break;
    }
  });
  t.owned = flags & NFT_TABLE_F_OWNER;
  t.dormant = flags & NFT_TABLE_F_DORMANT;
  return t;
}

void parse_hook(const nlattr* a, ChainState& c) {
  if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0) return;
  c.base = true;
  for_each_nested(a, [&](const nlattr* h) {
    if (mnl_attr_get_type(h) == NFTA_HOOK_HOOKNUM) c.hook = attr_be32(h).value_or(0);
    if (mnl_attr_get_type(h) == NFTA_HOOK_PRIORITY) c.prio = static_cast<int32_t>(attr_be32(h).value_or(0));
  });
}

ChainState parse_chain(const nlmsghdr* m) {
  ChainState c;
  c.ref.family = msg_family(m);
  for_each_msg_attr(m, sizeof(nfgenmsg), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_CHAIN_TABLE: c.ref.table = attr_str(a); break;
      case NFTA_CHAIN_NAME: c.ref.name = attr_str(a); break;
      case NFTA_CHAIN_TYPE: c.type = attr_str(a); break;
      case NFTA_CHAIN_POLICY: c.drops = attr_be32(a).value_or(NF_ACCEPT) != NF_ACCEPT; break;
      case NFTA_CHAIN_HOOK: parse_hook(a, c); break;
    }
  });
  return c;
}

// Rules that may be ours (in a zl- table or commented "zl-cni …") get an expression fingerprint.
void parse_rule(const nlmsghdr* m, Snapshot& s) {
  ChainRef ref{msg_family(m), {}, {}};
  RuleState r;
  for_each_msg_attr(m, sizeof(nfgenmsg), [&](const nlattr* a) {
    switch (mnl_attr_get_type(a)) {
      case NFTA_RULE_TABLE: ref.table = attr_str(a); break;
      case NFTA_RULE_CHAIN: ref.name = attr_str(a); break;
      case NFTA_RULE_HANDLE: r.id = attr_be64(a); break;
      case NFTA_RULE_USERDATA: r.comment = udata_comment(a); break;
    }
  });
  if (is_ours_table(ref.table) || is_zl_comment(r.comment)) {
    RulePtr parsed(checked(nftnl_rule_alloc()));
    // A rule libnftnl cannot parse is not one of ours: an empty fingerprint never matches.
    if (nftnl_rule_nlmsg_parse(m, parsed.get()) >= 0) r.key = expr_fingerprint(parsed.get());
  }
  // Rules come in chain order, chain after chain: the last chain is most likely theirs.
  for (auto it = s.chains.rbegin(); it != s.chains.rend(); ++it) {
    if (it->ref == ref) {
      it->rules.push_back(std::move(r));
      return;
    }
  }
  s.chains.push_back(ChainState{.ref = ref, .rules = {std::move(r)}});
}

// Reads generation + tables + chains + rules; redone while a dump comes back inconsistent.
// `genid`: the generation just asked for, used by the first round.
Result<NftSnapshot> load(NftSocket& sock, std::optional<uint32_t> genid = std::nullopt) {
  for (int attempt = 0;; ++attempt) {
    NftSnapshot n;
    auto g = genid ? Result<uint32_t>(*genid) : sock.genid();
    genid.reset();
    if (!g) return std::move(g).error();
    n.genid = *g;
    bool intr = false;
    Snapshot& s = n.s;
    auto st = sock.dump(NFT_MSG_GETTABLE, "list tables", [&](const nlmsghdr* m) { s.tables.push_back(parse_table(m)); }, intr);
    if (!st) return std::move(st).error();
    st = sock.dump(NFT_MSG_GETCHAIN, "list chains", [&](const nlmsghdr* m) { s.chains.push_back(parse_chain(m)); }, intr);
    if (!st) return std::move(st).error();
    st = sock.dump(NFT_MSG_GETRULE, "list rules", [&](const nlmsghdr* m) { parse_rule(m, s); }, intr);
    if (!st) return std::move(st).error();
    if (!intr) return n;
    if (attempt + 1 >= kAttempts) return nft_error(EINTR, "list ruleset: kept changing while dumping");
  }
}

// ---- building rules ----

class RuleBuilder {
 public:
  RuleBuilder() : r_(checked(nftnl_rule_alloc())) {}

  RuleBuilder& meta(uint32_t key) {
    nftnl_expr* e = expr("meta");
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
    nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
    return add(e);
  }
  RuleBuilder& cmp_eq(const void* data, uint32_t len) {
    nftnl_expr* e = expr("cmp");
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
    nftnl_expr_set_data(e, NFTNL_EXPR_CMP_DATA, data, len);
    return add(e);
  }
  RuleBuilder& network_header(uint32_t offset, uint32_t len) {
    nftnl_expr* e = expr("payload");
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
    nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
    return add(e);
  }
  RuleBuilder& and_mask(const uint8_t* mask, uint32_t len) {
    static const uint8_t zero[16] = {};
    nftnl_expr* e = expr("bitwise");
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
    nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
    nftnl_expr_set_data(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
    return add(e);
  }
  // meta nfproto ipv4|ipv6 (needed before any header match in an inet chain)
  RuleBuilder& nfproto(int family) {
    uint8_t p = family == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
    return meta(NFT_META_NFPROTO).cmp_eq(&p, 1);
  }
  // ip[6] saddr|daddr <prefix>, encoded as nft encodes it (so `nft list` shows the prefix):
  // a byte-aligned prefix loads just its bytes, any other loads the address and masks it.
  RuleBuilder& addr(const IpNet& n, bool source) {
    IpNet m = n.masked();
    if (m.len == 0) return *this;
    const bool v4 = m.addr.is_v4();
    uint32_t offset = v4 ? (source ? 12 : 16) : (source ? 8 : 24);
    if (m.len % 8 == 0) {
      uint32_t bytes = static_cast<uint32_t>(m.len) / 8;
      return network_header(offset, bytes).cmp_eq(m.addr.b.data(), bytes);
    }
    uint32_t bytes = static_cast<uint32_t>(m.addr.size());
    uint8_t mask[16] = {};
    for (int i = 0; i < m.len; ++i) mask[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
    return network_header(offset, bytes).and_mask(mask, bytes).cmp_eq(m.addr.b.data(), bytes);
  }
  RuleBuilder& ifname(uint32_t key, const std::string& name) {
    char buf[IFNAMSIZ] = {};
    std::memcpy(buf, name.data(), std::min(name.size(), sizeof buf - 1));
    return meta(key).cmp_eq(buf, sizeof buf);
  }
  RuleBuilder& verdict(int code) {
    nftnl_expr* e = expr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(code));
    return add(e);
  }
  RuleBuilder& masquerade() { return add(expr("masq")); }
  RuleBuilder& comment(const std::string& c) {
    comment_ = c;
    std::unique_ptr<nftnl_udata_buf, UdataFree> ud(checked(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN)));
    nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, c.c_str());
    nftnl_rule_set_data(r_.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
    return *this;
  }

  RulePtr take() { return std::move(r_); }
  const std::string& comment_text() const { return comment_; }

 private:
  static nftnl_expr* expr(const char* name) { return checked(nftnl_expr_alloc(name)); }
  RuleBuilder& add(nftnl_expr* e) {
    nftnl_rule_add_expr(r_.get(), e);
    return *this;
  }
  RulePtr r_;
  std::string comment_;
};


std::vector<IpNet> of_family(const std::vector<IpNet>& v, int family) {
  std::vector<IpNet> out;
  for (const IpNet& n : v) {
    if (n.addr.family != family) continue;
    IpNet m = n.masked();
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

// A built rule, kept for the executor and described to the planner.
WantRule keep(NftDesired& d, RuleBuilder& b, std::string text) {
  WantRule w{.comment = b.comment_text(), .text = std::move(text), .ref = d.rules.size()};
  d.rules.emplace_back(b.take().release(), nftnl_rule_free);
  w.key = expr_fingerprint(d.rules.back().get());
  return w;
}

// iifname <bridge> accept ; oifname <bridge> accept — valid in ip, ip6 and inet chains alike.
std::vector<WantRule> forward_rules(NftDesired& d, const NetworkRules& r) {
  std::vector<WantRule> out;
  const std::string cm = fwd_comment(r.network);
  for (uint32_t key : {NFT_META_IIFNAME, NFT_META_OIFNAME}) {
    RuleBuilder b;
    b.ifname(key, r.bridge).verdict(NF_ACCEPT).comment(cm);
    out.push_back(keep(d, b, std::string(key == NFT_META_IIFNAME ? "iifname " : "oifname ") + r.bridge + " accept"));
  }
  return out;
}

// meta nfproto <f> ip[6] daddr <each source, exclude, multicast> accept ; … saddr <source> masquerade
void masq_rules(NftDesired& d, const NetworkRules& r, int family, WantChain& c) {
  const std::string cm = masq_comment(r.network);
  const std::string ip = family == AF_INET ? "ip " : "ip6 ";
  std::vector<IpNet> src = of_family(r.sources, family);
  if (src.empty()) return;
  std::vector<IpNet> keep_dst = src;
  for (const IpNet& n : of_family(r.exclude, family)) {
    if (std::find(keep_dst.begin(), keep_dst.end(), n) == keep_dst.end()) keep_dst.push_back(n);
  }
  keep_dst.push_back(*IpNet::parse(family == AF_INET ? "224.0.0.0/4" : "ff00::/8"));
  for (const IpNet& n : keep_dst) {
    RuleBuilder b;
    b.nfproto(family).addr(n, false).verdict(NF_ACCEPT).comment(cm);
    c.rules.push_back(keep(d, b, ip + "daddr " + n.str() + " accept"));
  }
  for (const IpNet& n : src) {
    RuleBuilder b;
    b.nfproto(family).addr(n, true).masquerade().comment(cm);
    c.rules.push_back(keep(d, b, ip + "saddr " + n.str() + " masquerade"));
  }
}

Error clash_error(const Plan& p) { return Error{EEXIST, 0, p.clashes.front()}; }

std::string where(const ChainRef& c) { return c.str(); }

void table_msg(Batch& b, uint16_t type, const ChainRef& c, std::string what) {
  b.add(type, c.family, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, [&](nlmsghdr* nlh) {
    std::unique_ptr<nftnl_table, TableFree> t(checked(nftnl_table_alloc()));
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, c.table.c_str());
    nftnl_table_nlmsg_build_payload(nlh, t.get());
  }, std::move(what) + " table " + where(c));
}

void chain_msg(Batch& b, uint16_t type, const WantChain& w, std::string what) {
  b.add(type, w.ref.family, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0, [&](nlmsghdr* nlh) {
    std::unique_ptr<nftnl_chain, ChainFree> c(checked(nftnl_chain_alloc()));
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, w.ref.table.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, w.ref.name.c_str());
    if (type == NFT_MSG_NEWCHAIN && w.base) {
      nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, w.hook);
      nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, w.prio);
      nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, w.type.c_str());
      nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    nftnl_chain_nlmsg_build_payload(nlh, c.get());
  }, std::move(what) + " chain " + where(w.ref));
}

// Appended, inserted at the top, or in front of the rule with handle `before`.
void add_rule(Batch& b, const Change& c, nftnl_rule* r) {
  const bool append = !c.top && !c.before;
  b.add(NFT_MSG_NEWRULE, c.where.family, static_cast<uint16_t>(NLM_F_CREATE | (append ? NLM_F_APPEND : 0)),
        [&](nlmsghdr* nlh) {
          nftnl_rule_set_str(r, NFTNL_RULE_TABLE, c.where.table.c_str());
          nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, c.where.name.c_str());
          if (c.before) nftnl_rule_set_u64(r, NFTNL_RULE_POSITION, *c.before);
          nftnl_rule_nlmsg_build_payload(nlh, r);
          nftnl_rule_unset(r, NFTNL_RULE_POSITION);
        },
        std::string(append ? "add rule to " : c.top ? "insert rule into " : "insert rule before handle " +
                    std::to_string(*c.before) + " into ") + where(c.where));
}

void del_rule(Batch& b, const Change& c) {
  b.add(NFT_MSG_DELRULE, c.where.family, 0, [&](nlmsghdr* nlh) {
    RulePtr x(checked(nftnl_rule_alloc()));
    nftnl_rule_set_str(x.get(), NFTNL_RULE_TABLE, c.where.table.c_str());
    nftnl_rule_set_str(x.get(), NFTNL_RULE_CHAIN, c.where.name.c_str());
    nftnl_rule_set_u64(x.get(), NFTNL_RULE_HANDLE, c.id);
    nftnl_rule_nlmsg_build_payload(nlh, x.get());
  }, "delete rule " + std::to_string(c.id) + " from " + where(c.where));
}

// The plan as one batch.
void to_batch(Batch& b, const Plan& p, const NftDesired& d) {
  using K = Change::Kind;
  for (const Change& c : p.changes) {
    switch (c.kind) {
      case K::kAddTable: table_msg(b, NFT_MSG_NEWTABLE, c.where, "add"); break;
      case K::kDelTable: table_msg(b, NFT_MSG_DELTABLE, c.where, "delete"); break;
      case K::kAddChain: chain_msg(b, NFT_MSG_NEWCHAIN, c.chain, "add"); break;
      case K::kDelChain: chain_msg(b, NFT_MSG_DELCHAIN, WantChain{.ref = c.where}, "delete"); break;
      case K::kAddRule: add_rule(b, c, d.rules.at(c.rule.ref).get()); break;
      case K::kDelRule: del_rule(b, c); break;
    }
  }
}

// One read-plan-commit round, redone when the ruleset changed before our batch landed.
// `first`: a snapshot already read (by the auto backend's probe), used for the first round.
Status transact(std::string_view what, const NftDesired& d, std::optional<NftSnapshot> first = std::nullopt) {
  for (int attempt = 0;; ++attempt) {
    auto sock = NftSocket::open();
    if (!sock) return std::move(sock).error().wrap(what);
    Result<NftSnapshot> snap = first ? Result<NftSnapshot>(std::move(*first)) : load(*sock);
    first.reset();
    if (!snap) return std::move(snap).error().wrap(what);
    Plan p = make_plan(d.want, snap->s);
    if (p.refused) return clash_error(p).wrap(what);
    for (const std::string& c : p.clashes) log("nft: " + c + "; leaving it alone");
    if (p.changes.empty()) return {};
    Batch b(sock->seq(), snap->genid);
    to_batch(b, p, d);
    auto s = sock->commit(b);
    if (s) return {};
    if (s.error().sys != ERESTART || attempt + 1 >= kAttempts) return s.error().wrap(what);
  }
}

bool present_in(const Snapshot& s, const std::string& network) {
  if (s.table(NFPROTO_INET, nft_table(network))) return true;
  const std::string fwd_cm = fwd_comment(network), masq_cm = masq_comment(network);
  for (const ChainState& c : s.chains) {
    for (const RuleState& r : c.rules)
      if (r.comment == fwd_cm || r.comment == masq_cm) return true;
  }
  return false;
}

bool in_use_in(const Snapshot& s) {
  for (const ChainState& c : s.chains) {
    if (is_ours_table(c.ref.table)) continue;
    if (c.base && c.drops) return true;
    for (const RuleState& r : c.rules)
      if (!is_zl_comment(r.comment)) return true;
  }
  return false;
}

}  // namespace

NftDesired nft_desired(const NetworkRules& r) {
  NftDesired out;
  Desired& d = out.want;
  d.network = r.network;
  d.comments = {masq_comment(r.network), fwd_comment(r.network)};
  d.own_table_family = NFPROTO_INET;
  d.own_table = nft_table(r.network);
  if (r.masquerade) {
    WantChain c{.ref = {NFPROTO_INET, d.own_table, "postrouting"}, .base = true, .type = "nat",
                 .hook = NF_INET_POST_ROUTING, .prio = kPrioSrcNat};
    for (int family : {AF_INET, AF_INET6}) masq_rules(out, r, family, c);
    if (!c.rules.empty()) d.chains.push_back(std::move(c));
  }
  if (!r.bridge.empty()) {
    WantChain c{.ref = {NFPROTO_INET, d.own_table, "forward"}, .base = true, .type = "filter",
                 .hook = NF_INET_FORWARD, .prio = kPrioFilter};
    c.rules = forward_rules(out, r);
    d.forward_everywhere = c.rules;
    d.chains.push_back(std::move(c));
  }
  return out;
}

std::vector<std::string> nft_batch_summary(const Plan& p, const NftDesired& d) {
  uint32_t seq = 1;
  Batch b(seq, 7);
  to_batch(b, p, d);
  if (b.empty()) return {};
  b.finish();
  std::vector<std::string> out;
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(b.data());
  for (int len = static_cast<int>(b.size()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
      out.push_back("begin");
    } else if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
      out.push_back("end");
    } else {
      out.push_back(b.what(nlh->nlmsg_seq));
    }
  }
  return out;
}

std::optional<NftSnapshot> NftFirewall::take_probe() {
  if (!probe_) return std::nullopt;
  std::optional<NftSnapshot> out(std::move(*probe_));
  probe_.reset();
  return out;
}

Result<bool> NftFirewall::probe(bool& available) {
  available = false;
  auto sock = NftSocket::open();
  if (!sock) return false;
  auto g = sock->genid();
  if (!g) return false;  // no nf_tables here
  available = true;
  auto s = load(*sock, *g);
  if (!s) return std::move(s).error();
  bool used = in_use_in(s->s);
  probe_ = std::make_shared<NftSnapshot>(std::move(*s));
  return used;
}

Status NftFirewall::ensure(const NetworkRules& rules) {
  if (auto s = validate(rules); !s) return s;
  return transact("network " + rules.network, nft_desired(rules), take_probe());
}

Status NftFirewall::remove(const std::string& network) {
  return transact("remove network " + network, nft_desired(NetworkRules{network, {}, {}, {}, false}), take_probe());
}

Result<std::vector<std::string>> NftFirewall::check(const NetworkRules& rules) {
  if (auto s = validate(rules); !s) return std::move(s).error();
  std::optional<NftSnapshot> snap = take_probe();
  if (!snap) {
    auto sock = NftSocket::open();
    if (!sock) return std::move(sock).error();
    auto s = load(*sock);
    if (!s) return std::move(s).error();
    snap = std::move(*s);
  }
  return make_plan(nft_desired(rules).want, snap->s).describe();
}

Result<bool> NftFirewall::present(const std::string& network) {
  auto sock = NftSocket::open();
  if (!sock) return std::move(sock).error();
  auto s = load(*sock);
  if (!s) return std::move(s).error();
  return present_in(s->s, network);
}

}  // namespace zl::net::fw
