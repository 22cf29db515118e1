#include "plugins/zl-wg/meshd/agent.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "libcni/errors.h"
#include "libnet/core/log.h"
#include "libnet/netlink/netlink.h"
#include "libnet/wireguard/keys.h"
#include "plugins/zl-wg/meshd/local.h"
#include "plugins/zl-wg/mesh.h"
#include "plugins/zl-wg/names.h"

namespace zl::meshd {

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}
int64_t unix_now() { return static_cast<int64_t>(::time(nullptr)); }

int64_t jitter(int64_t ms) {
  static std::mt19937_64 rng{std::random_device{}()};
  return ms / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(ms / 2 + 1));
}

ClusterRecord cluster_of(const MeshConfig& c) {
  return ClusterRecord{.cidr = c.cluster_cidr, .len = c.subnet_len, .cidr6 = c.cluster_cidr6, .len6 = c.subnet_len6};
}

// The endpoint to publish: configured, else the source address of the default route.
Result<net::wg::Endpoint> own_endpoint(const MeshConfig& c) {
  if (c.endpoint) return *c.endpoint;
  auto rtnl = net::NlSock::open();
  if (!rtnl) return std::move(rtnl).error();
  // Any address only the default route reaches (TEST-NET-3): the kernel answers with its source.
  auto r = net::route_get(*rtnl, *net::IpAddr::parse("203.0.113.1"));
  if (r && r->prefsrc && r->dst.len == 0) return net::wg::Endpoint{*r->prefsrc, c.wg.listen_port};
  if (r && r->prefsrc) return net::wg::Endpoint{*r->prefsrc, c.wg.listen_port};
  // Not fatal: the network may come up after the agent (boot order); retried with backoff.
  return cni::fail(cni::kErrTryAgainLater, "no default route to take this node's endpoint from: set mesh.endpoint");
}

class Agent {
 public:
  Agent(const MeshConfig& cfg, const AgentOptions& o) : cfg_(cfg), opts_(o), keys_{cfg.prefix} {}
  int run(const volatile std::sig_atomic_t* stop);

 private:
  Status start_from_disk();
  Status connect();
  Status join();
  Status ensure_cluster();
  Status claim_subnets();
  Result<net::IpNet> claim_in(const net::IpNet& space, int len);
  Status publish_node();
  Status renew_lease(bool force);
  Status relist();
  Status open_watch(bool compacted = false);
  Status serve_once();
  Status on_watch_batch(const WatchBatch& b);
  bool is_ours(const std::string& key) const;  // our node record or one of our subnets
  void publish();
  void apply_peers(const std::vector<MeshPeer>& peers);
  void reap(const View& v);
  void failed(const Error& e);
  void save();
  bool hold_instance();

  const MeshConfig& cfg_;
  AgentOptions opts_;
  Keys keys_;
  Self self_;
  std::unique_ptr<Etcd> etcd_;
  std::unique_ptr<Watch> watch_;
  std::map<std::string, KeyValue> kvs_;
  int64_t revision_ = 0;
  int64_t lease_ = 0;
  std::vector<net::IpNet> subnets_;
  net::wg::Endpoint endpoint_;  // what the node record publishes, resolved once per join
  LastKnown state_;
  bool online_ = false, joined_ = false, rejoin_ = false, dirty_ = false, device_synced_ = false;
  int64_t dirty_at_ = 0, next_keepalive_ = 0, next_resync_ = 0, retry_at_ = 0, backoff_ = 250;
  std::set<std::string> logged_skips_;
  std::map<std::string, int64_t> down_since_;
  std::vector<wg::PeerName> names_;
  std::optional<net::FileLock> instance_;  // one agent per network on this node
};

void Agent::failed(const Error& e) {
  if (e.msg != state_.health.last_error || state_.health.connected) {
    net::log(e.msg + " (peers kept as they are; retrying)");
  }
  state_.health.connected = false;
  state_.health.last_error = e.msg;
  online_ = false;
  watch_.reset();
  retry_at_ = now_ms() + jitter(backoff_);
  backoff_ = std::min<int64_t>(backoff_ * 2, 10000);
  save();
}

void Agent::save() {
  if (etcd_) state_.health.requests = etcd_->requests();
  state_.node = cfg_.node;
  state_.public_key = self_.public_key;
  state_.subnets = subnets_;
  if (auto s = save_state(cfg_.state_dir, state_); !s) net::log("state: " + s.error().msg);
}

// Before etcd is reached: the last known subnets and peers, so a reboot during an etcd outage
// still brings the pods and the tunnels up.
Status Agent::start_from_disk() {
  auto last = load_state(cfg_.state_dir);
  if (!last) return std::move(last).error();
  if (!*last) return {};
  if ((*last)->node != cfg_.node || (*last)->public_key != self_.public_key) {
    net::log("state in " + cfg_.state_dir + " is for another node name or key: not applied");
    return {};
  }
  state_ = std::move(**last);
  state_.health.connected = false;
  subnets_ = state_.subnets;
  for (size_t i = 0; i < cfg_.subnet_files.size(); i++) {
    for (const auto& s : subnets_) {
      if ((i == 0) == s.addr.is_v4()) (void)write_if_changed(cfg_.subnet_files[i], s.str() + "\n");
    }
  }
  apply_peers(state_.peers);
  return {};
}

Status Agent::ensure_cluster() {
  ClusterRecord want = cluster_of(cfg_);
  std::vector<Compare> cmp{{.key = keys_.config(), .target = Compare::Target::kCreate, .number = 0}};
  auto t = etcd_->txn(cmp, {{.kind = TxnOp::Kind::kPut, .key = keys_.config(), .value = encode(want)}},
                      {{.kind = TxnOp::Kind::kRange, .key = keys_.config()}});
  if (!t) return std::move(t).error();
  if (t->succeeded) return {};
  if (t->ranges.empty() || t->ranges[0].kvs.empty()) return Error::make(kEtcdInvalid, "config: vanished");
  auto have = decode_cluster(t->ranges[0].kvs[0].value);
  if (!have) return Error::make(kEtcdInvalid, keys_.config() + ": " + have.error().msg);
  if (!(*have == want)) {
    return Error::make(cni::kErrInvalidConfig, keys_.config() + " in etcd is " + encode(*have) +
                                                   ", this node's conflist says " + encode(want));
  }
  return {};
}


// A subnet of `space` this node owns: the one it had (same name and key), else a free one
// claimed with a create-only transaction; a lost race retries with another, jittered.
Result<net::IpNet> Agent::claim_in(const net::IpNet& space, int len) {
  std::set<std::string> taken;
  std::optional<net::IpNet> mine;
  std::string p = keys_.subnets();
  for (auto it = kvs_.lower_bound(p); it != kvs_.end() && it->first.starts_with(p); ++it) {
    taken.insert(it->first.substr(p.size()));
    auto r = decode_subnet(it->second.value);
    auto n = net::IpNet::parse(it->first.substr(p.size()));
    if (!r || !n || r->node != cfg_.node || n->addr.family != space.addr.family) continue;
    if (r->public_key != self_.public_key) {
      // Our name with an older key: the key was rotated. Take it over by compare-and-swap.
      std::vector<Compare> cmp{{.key = it->first, .target = Compare::Target::kMod, .number = it->second.mod_revision}};
      SubnetRecord now{.node = cfg_.node, .public_key = self_.public_key};
      auto t = etcd_->txn(cmp, {{.kind = TxnOp::Kind::kPut, .key = it->first, .value = encode(now)}}, {});
      if (!t) return std::move(t).error();
      if (!t->succeeded) continue;
      net::log("subnet " + n->str() + ": key rotated, ownership kept");
    }
    mine = *n;
  }
  if (mine) return *mine;
  SubnetRecord rec{.node = cfg_.node, .public_key = self_.public_key};
  for (int attempt = 0; attempt < 64; attempt++) {
    std::optional<net::IpNet> pick;
    for (const auto& s : subnets_) {  // the one the last known state names, if still free
      if (s.addr.family == space.addr.family && !taken.count(s.str())) pick = s;
    }
    if (!pick) pick = pick_free(space, len, taken, cfg_.node + "#" + std::to_string(attempt));
    if (!pick) return Error::make(cni::kErrInvalidConfig, "no free /" + std::to_string(len) + " left in " + space.str());
    std::string key = keys_.subnet(*pick);
    std::vector<Compare> cmp{{.key = key, .target = Compare::Target::kCreate, .number = 0}};
    auto t = etcd_->txn(cmp, {{.kind = TxnOp::Kind::kPut, .key = key, .value = encode(rec)}},
                        {{.kind = TxnOp::Kind::kRange, .key = key}});
    if (!t) return std::move(t).error();
    // Ours already: a retried request whose first attempt committed (the client fails over).
    bool ours = !t->succeeded && !t->ranges.empty() && !t->ranges[0].kvs.empty() &&
                decode_subnet(t->ranges[0].kvs[0].value).ok() && *decode_subnet(t->ranges[0].kvs[0].value) == rec;
    if (t->succeeded || ours) {
      net::log("claimed subnet " + pick->str());
      return *pick;
    }
    net::log("subnet " + pick->str() + " claimed by another node meanwhile: trying another");
    taken.insert(pick->str());
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(20 + 10 * attempt)));
  }
  return Error::make(kEtcdUnavailable, "no subnet claimed after 64 races");
}

Status Agent::claim_subnets() {
  std::vector<net::IpNet> got;
  auto v4 = claim_in(cfg_.cluster_cidr, cfg_.subnet_len);
  if (!v4) return std::move(v4).error();
  got.push_back(*v4);
  if (cfg_.cluster_cidr6) {
    auto v6 = claim_in(*cfg_.cluster_cidr6, cfg_.subnet_len6);
    if (!v6) return std::move(v6).error();
    got.push_back(*v6);
  }
  subnets_ = got;
  for (size_t i = 0; i < cfg_.subnet_files.size() && i < got.size(); i++) {
    auto w = write_if_changed(cfg_.subnet_files[i], got[i].str() + "\n");
    if (!w) return Error::make(cni::kErrIo, "subnetFile " + cfg_.subnet_files[i] + ": " + w.error().msg);
  }
  return {};
}

// The node record, written only when it differs (compare-and-swap on what was listed).
Status Agent::publish_node() {
  NodeRecord want{.public_key = self_.public_key, .endpoint = endpoint_, .subnets = subnets_,
                  .keepalive = cfg_.keepalive, .behind_nat = cfg_.behind_nat};
  std::string key = keys_.node(cfg_.node);
  auto it = kvs_.find(key);
  if (it != kvs_.end()) {
    auto have = decode_node(it->second.value);
    if (have && *have == want) return {};
  }
  Compare c = it == kvs_.end() ? Compare{.key = key, .target = Compare::Target::kCreate, .number = 0}
                               : Compare{.key = key, .target = Compare::Target::kMod, .number = it->second.mod_revision};
  auto t = etcd_->txn({c}, {{.kind = TxnOp::Kind::kPut, .key = key, .value = encode(want)}}, {});
  if (!t) return std::move(t).error();
  if (!t->succeeded) return Error::make(kEtcdUnavailable, key + " changed under us: listing again");
  return {};
}

Status Agent::renew_lease(bool force) {
  if (lease_ && !force) {
    auto k = etcd_->keepalive(lease_);
    if (k) return {};
    if (k.error().code != kEtcdLeaseNotFound) return std::move(k).error();
    net::log("lease " + std::to_string(lease_) + " gone: granting a new one");
  }
  auto l = etcd_->grant(cfg_.lease_ttl);
  if (!l) return std::move(l).error();
  lease_ = l->id;
  auto p = etcd_->put(keys_.alive(cfg_.node), std::to_string(unix_now()), lease_);
  if (!p) return std::move(p).error();
  return {};
}

Status Agent::relist() {
  auto r = etcd_->get(cfg_.prefix, true);
  if (!r) return std::move(r).error();
  kvs_.clear();
  for (auto& kv : r->kvs) kvs_.emplace(kv.key, std::move(kv));
  revision_ = r->revision;
  dirty_ = true;
  return {};
}

Status Agent::join() {
  auto ep = own_endpoint(cfg_);  // before anything is claimed
  if (!ep) return std::move(ep).error();
  endpoint_ = *ep;
  if (auto s = ensure_cluster(); !s) return s;
  if (auto s = relist(); !s) return s;
  if (auto s = claim_subnets(); !s) return s;
  if (auto s = publish_node(); !s) return s;
  if (auto s = renew_lease(true); !s) return s;
  rejoin_ = false;
  return relist();
}

// The watch from the revision after the last one seen; compacted away: list again, once.
Status Agent::open_watch(bool compacted) {
  for (int i = 0; i < 2; i++) {
    if (compacted) {
      net::log("watch: revision " + std::to_string(revision_ + 1) + " compacted: listing again");
      if (auto s = relist(); !s) return s;
    }
    auto w = etcd_->watch(cfg_.prefix, revision_ + 1);
    if (w) {
      watch_ = std::move(*w);
      return {};
    }
    if (w.error().code != kEtcdCompacted) return std::move(w).error();
    compacted = true;
  }
  return Error::make(kEtcdUnavailable, "watch: compacted again right after a list");
}

// Joined once, a reconnect only renews the lease and resumes the watch after the last
// revision seen (a compacted one: Agent::serve_once lists again).
Status Agent::connect() {
  if (!joined_) {
    if (auto s = join(); !s) return s;
    joined_ = true;
  } else if (auto s = renew_lease(false); !s) {
    return s;
  }
  if (auto s = open_watch(); !s) return s;
  online_ = true;
  backoff_ = 250;
  if (!state_.health.connected) {
    net::log("etcd: in sync through " + etcd_->endpoint() + ", watching from revision " + std::to_string(revision_ + 1));
  }
  state_.health.connected = true;
  state_.health.last_error.clear();
  next_keepalive_ = now_ms() + cfg_.keepalive_interval * 1000;
  next_resync_ = now_ms() + cfg_.resync_interval * 750 + jitter(cfg_.resync_interval * 500);
  return {};
}


bool Agent::is_ours(const std::string& key) const {
  if (key == keys_.node(cfg_.node)) return true;
  return std::any_of(subnets_.begin(), subnets_.end(), [&](const net::IpNet& s) { return key == keys_.subnet(s); });
}

Status Agent::on_watch_batch(const WatchBatch& b) {
  for (const auto& e : b.events) {
    const std::string& k = e.kv.key;
    if (e.type == WatchEvent::Type::kPut) {
      kvs_[k] = e.kv;
    } else {
      kvs_.erase(k);
      // Our own records removed (the reaper while we were away, an operator): join again.
      if (is_ours(k)) rejoin_ = true;
    }
    revision_ = std::max(revision_, e.kv.mod_revision);
  }
  revision_ = std::max(revision_, b.revision);
  if (!b.events.empty() && !dirty_) {
    dirty_ = true;
    dirty_at_ = now_ms();  // coalesce a burst: publish ~100 ms after its first event
  }
  return {};
}

// One turn of the loop while connected: watch events, the coalesced publish, timers.
Status Agent::serve_once() {
  int64_t now = now_ms();
  int wait = dirty_ ? static_cast<int>(std::clamp<int64_t>(dirty_at_ + 100 - now, 0, 100)) : 200;
  auto b = watch_->poll(wait);
  if (!b) {
    if (b.error().code != kEtcdCompacted) return std::move(b).error();
    if (auto s = open_watch(true); !s) return s;
  } else if (*b) {
    if (auto s = on_watch_batch(**b); !s) return s;
  }
  now = now_ms();
  if (rejoin_) {
    net::log("our records were removed from etcd: joining again");
    if (auto s = join(); !s) return s;
  }
  if (now >= next_keepalive_) {
    if (auto s = renew_lease(false); !s) return s;
    next_keepalive_ = now + cfg_.keepalive_interval * 1000;
    state_.health.last_contact = unix_now();
    state_.health.endpoint = etcd_->endpoint();
    if (cfg_.node_gc > 0) reap(build_view(keys_, self_, kvs_));  // down long enough needs no event
    save();
  }
  if (now >= next_resync_) {
    if (auto s = relist(); !s) return s;
    device_synced_ = false;  // a periodic full reconcile too (a no-op when nothing drifted)
    next_resync_ = now + cfg_.resync_interval * 750 + jitter(cfg_.resync_interval * 500);
  }
  if (dirty_ && now >= dirty_at_ + 100) publish();
  return {};
}

void Agent::publish() {
  dirty_ = false;
  View v = build_view(keys_, self_, kvs_);
  for (const auto& why : v.skipped) {
    if (logged_skips_.insert(why).second) net::log("skipped " + why);
  }
  state_.skipped = v.skipped;
  auto peers = peers_of(v, self_);
  apply_peers(peers);
  state_.health.revision = revision_;
  state_.health.last_sync = state_.health.last_contact = unix_now();
  state_.health.endpoint = etcd_->endpoint();
  if (cfg_.node_gc > 0) reap(v);
  save();
}

void Agent::apply_peers(const std::vector<MeshPeer>& peers) {
  state_.peers = peers;
  std::vector<wg::PeerName> names;
  for (const auto& p : peers) names.push_back({.public_key = p.record.public_key, .node = p.node, .up = p.up});
  auto changed = write_if_changed(cfg_.wg.peers_file, peers_json(peers));
  if (!changed) {
    net::log("peersFile " + cfg_.wg.peers_file + ": " + changed.error().msg);
    return;
  }
  bool names_changed = names.size() != names_.size();
  for (size_t i = 0; !names_changed && i < names.size(); i++) {
    names_changed = names[i].public_key != names_[i].public_key || names[i].node != names_[i].node || names[i].up != names_[i].up;
  }
  if (!opts_.device) return;
  if (names_changed) {
    if (auto s = wg::write_peer_names(cfg_.wg.ifname, names); !s) net::log("names: " + s.error().msg);
    names_ = std::move(names);
  }
  if (!*changed && device_synced_) return;
  auto conf = cni::parse_netconf(cfg_.wg_conf);
  auto c = conf ? wg::parse_config(*conf) : Result<wg::Config>(conf.error());
  if (!c) {
    net::log("device: " + c.error().msg);
    return;
  }
  auto rep = wg::reconcile(*c, wg::gateway_addrs(cfg_.bridge), wg::Mode::kApply);
  if (!rep) {
    net::log("device " + cfg_.wg.ifname + ": " + rep.error().msg + " (retried at the next change or resync)");
    return;
  }
  device_synced_ = true;
  if (rep->set_messages || rep->routes_added || rep->routes_removed) {
    net::log("device " + cfg_.wg.ifname + ": peers +" + std::to_string(rep->peers_added) + " ~" +
             std::to_string(rep->peers_updated) + " -" + std::to_string(rep->peers_removed) + ", routes +" +
             std::to_string(rep->routes_added) + " -" + std::to_string(rep->routes_removed) + " (" +
             std::to_string(rep->set_messages) + " SET messages)");
  }
}

// One elected reaper (the alive node with the smallest name) removes nodes down for longer
// than nodeGC, each atomically with its subnets, and only if it is still down and unchanged.
void Agent::reap(const View& v) {
  int64_t now = now_ms();
  for (const auto& [name, r] : v.nodes) {
    if (v.alive.count(name)) down_since_.erase(name);
    else down_since_.emplace(name, now);
  }
  if (v.alive.empty() || *v.alive.begin() != cfg_.node) return;
  for (const auto& [name, since] : down_since_) {
    if (name == cfg_.node || now - since < int64_t{cfg_.node_gc} * 1000 || !v.nodes.count(name)) continue;
    auto it = kvs_.find(keys_.node(name));
    if (it == kvs_.end()) continue;
    std::vector<Compare> cmp{{.key = keys_.alive(name), .target = Compare::Target::kCreate, .number = 0},
                             {.key = it->first, .target = Compare::Target::kMod, .number = it->second.mod_revision}};
    std::vector<TxnOp> ops{{.kind = TxnOp::Kind::kDelete, .key = it->first}};
    for (const auto& s : v.nodes.at(name).subnets) ops.push_back({.kind = TxnOp::Kind::kDelete, .key = keys_.subnet(s)});
    auto t = etcd_->txn(cmp, ops, {});
    if (t && t->succeeded) net::log("reaped node " + name + ": down for more than nodeGC " + std::to_string(cfg_.node_gc) + " s");
  }
}

// The instance lock, taken (again, when its file was deleted or replaced under us); false when
// another agent holds it, which then is the one agent for this network.
bool Agent::hold_instance() {
  auto l = lock_instance(cfg_.state_dir);
  if (l && *l) {
    if (instance_) net::log(instance_lock_file(cfg_.state_dir) + " was removed or replaced: locked again");
    instance_ = std::move(*l);
    return true;
  }
  net::log(l ? "another zl-meshd runs for network " + cfg_.network + " (it holds " + instance_lock_file(cfg_.state_dir) +
                   ")" + (instance_ ? ": this one stops" : "")
             : l.error().msg);
  return false;
}

int Agent::run(const volatile std::sig_atomic_t* stop) {
  if (!hold_instance()) return 1;  // before anything is touched
  auto key = net::load_or_create_key(cfg_.wg.private_key_file);
  if (!key) {
    net::log(key.error().msg);
    return 1;
  }
  self_ = Self{.node = cfg_.node, .public_key = key->public_key(), .cluster = cluster_of(cfg_)};
  if (auto s = start_from_disk(); !s) net::log("last known state not applied: " + s.error().msg);
  auto e = Etcd::open(cfg_.etcd);
  if (!e) {
    net::log(e.error().msg);
    return 1;
  }
  etcd_ = std::move(*e);
  int64_t lock_checked = now_ms();
  while (!*stop) {
    if (now_ms() - lock_checked >= 2000) {
      lock_checked = now_ms();
      if (!instance_->current(instance_lock_file(cfg_.state_dir)) && !hold_instance()) return 1;
    }
    if (!online_) {
      if (now_ms() < retry_at_) {
        ::poll(nullptr, 0, 100);
        continue;
      }
      if (auto s = connect(); !s) {
        if (s.error().code == cni::kErrInvalidConfig) {
          net::log(s.error().msg);
          return 1;
        }
        failed(s.error());
      }
      continue;
    }
    if (auto s = serve_once(); !s) failed(s.error());
  }
  if (lease_) (void)etcd_->revoke(lease_);  // down at once rather than after leaseTTL
  save();
  return 0;
}

}  // namespace

int run_agent(const MeshConfig& cfg, const AgentOptions& o, const volatile std::sig_atomic_t* stop) {
  Agent a(cfg, o);
  return a.run(stop);
}

Status leave(const MeshConfig& cfg, const std::string& node, const AgentOptions& o) {
  // This node's own agent is known to run by its lock, not only by its lease (which can lapse
  // for a moment while the agent lives on); held through the leave so none starts meanwhile.
  std::optional<net::FileLock> instance;
  if (node == cfg.node) {
    auto l = lock_instance(cfg.state_dir);
    if (!l) return std::move(l).error();
    if (!*l) {
      return Error::make(cni::kErrInvalidConfig, "node " + node + ": its zl-meshd runs here (it holds " +
                                                     instance_lock_file(cfg.state_dir) + "): stop it first");
    }
    instance = std::move(*l);
  }
  auto e = Etcd::open(cfg.etcd);
  if (!e) return std::move(e).error();
  Keys keys{cfg.prefix};
  auto all = (*e)->get(cfg.prefix, true);
  if (!all) return std::move(all).error();
  std::vector<TxnOp> ops{{.kind = TxnOp::Kind::kDelete, .key = keys.node(node)}};
  for (const auto& kv : all->kvs) {
    if (!kv.key.starts_with(keys.subnets())) continue;
    auto r = decode_subnet(kv.value);
    if (r && r->node == node) ops.push_back({.kind = TxnOp::Kind::kDelete, .key = kv.key});
  }
  std::vector<Compare> cmp{{.key = keys.alive(node), .target = Compare::Target::kCreate, .number = 0}};
  auto t = (*e)->txn(cmp, ops, {});
  if (!t) return std::move(t).error();
  if (!t->succeeded) {
    return Error::make(cni::kErrInvalidConfig, "node " + node + " is alive (its zl-meshd runs): stop it first");
  }
  if (node != cfg.node) return {};
  for (const auto& f : cfg.subnet_files) ::unlink(f.c_str());
  ::unlink(state_file(cfg.state_dir).c_str());
  if (auto w = write_if_changed(cfg.wg.peers_file, peers_json({})); !w) return std::move(w).error();
  if (!o.device) return {};
  (void)wg::write_peer_names(cfg.wg.ifname, {});
  auto conf = cni::parse_netconf(cfg.wg_conf);
  if (!conf) return std::move(conf).error();
  auto c = wg::parse_config(*conf);
  if (!c) return std::move(c).error();
  auto rep = wg::reconcile(*c, {}, wg::Mode::kApply);
  if (!rep) return std::move(rep).error();
  return {};
}

}  // namespace zl::meshd
