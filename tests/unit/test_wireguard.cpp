// WireGuard messages without a kernel: SET messages parse back (a SET and a GET reply share
// their layout), large sets split the way the kernel expects, UAPI text round-trips, keys.
#include <doctest/doctest.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <netlink/genl/genl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "libnet/core/file.h"
#include "libnet/wireguard/keys.h"
#include "libnet/wireguard/wireguard.h"

using namespace zl::net;
using namespace zl::net::wg;

namespace {

Key key_n(uint32_t n) {
  Key k{};
  k[0] = static_cast<uint8_t>(n);
  k[1] = static_cast<uint8_t>(n >> 8);
  k[2] = static_cast<uint8_t>(n >> 16);
  k[31] = 0x42;
  return k;
}

IpNet net_of(const char* s) { return *IpNet::parse(s); }

Peer peer_n(uint32_t n, size_t aips) {
  Peer p;
  p.public_key = key_n(n);
  p.endpoint = Endpoint{*IpAddr::parse("192.0.2." + std::to_string(n % 250 + 1)), static_cast<uint16_t>(51820 + n % 7)};
  p.keepalive = 25;
  for (size_t i = 0; i < aips; ++i) {
    p.allowed_ips.push_back(IpNet{IpAddr::from_u128(AF_INET, (u128{10} << 24) + (u128{n} << 12) + i), 32});
  }
  p.flags = WGPEER_F_REPLACE_ALLOWEDIPS;
  return p;
}

// Peers are move-only (preshared keys are secrets): built into a vector one by one.
template <class... P>
std::vector<Peer> peers_of(P&&... p) {
  std::vector<Peer> v;
  (v.push_back(std::forward<P>(p)), ...);
  return v;
}

Device parse_all(const std::vector<NlMsg>& msgs) {
  Device d;
  for (const auto& m : msgs) REQUIRE(parse_device_message(nlmsg_hdr(m.get()), d).ok());
  return d;
}

void require_same_peers(const std::vector<Peer>& want, const Device& got) {
  REQUIRE(got.peers.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    CHECK(got.peers[i].public_key == want[i].public_key);
    CHECK(got.peers[i].endpoint == want[i].endpoint);
    CHECK(got.peers[i].keepalive == want[i].keepalive);
    CHECK(got.peers[i].allowed_ips == want[i].allowed_ips);
  }
}

}  // namespace

TEST_CASE("wireguard: a small SET is one message and parses back") {
  Update u;
  u.name = "zl-wg0";
  u.ifindex = 7;
  u.listen_port = 51820;
  u.fwmark = 0x1234;
  u.peers = peers_of(peer_n(1, 2), peer_n(2, 1));
  Key psk = key_n(99), psk_copy = psk;
  u.peers[1].preshared_key = SecretKey::from(psk_copy);
  u.peers[1].endpoint = Endpoint{*IpAddr::parse("2001:db8::2"), 51820};
  auto msgs = build_set_messages(30, u, 32768);
  REQUIRE(msgs.ok());
  REQUIRE(msgs->size() == 1);
  Device d = parse_all(*msgs);
  CHECK(d.ifindex == 7);
  CHECK(d.listen_port == 51820);
  CHECK(d.fwmark == 0x1234);
  require_same_peers(u.peers, d);
  REQUIRE(d.peers[1].preshared_key);
  CHECK(d.peers[1].preshared_key->bytes() == psk);
  CHECK(d.peers[0].flags == WGPEER_F_REPLACE_ALLOWEDIPS);
  auto* gh = static_cast<genlmsghdr*>(nlmsg_data(nlmsg_hdr((*msgs)[0].get())));
  CHECK(gh->cmd == WG_CMD_SET_DEVICE);
  CHECK(nlmsg_hdr((*msgs)[0].get())->nlmsg_type == 30);
}

TEST_CASE("wireguard: 5000 peers split across messages, device attributes only in the first") {
  Update u;
  u.ifindex = 3;
  u.listen_port = 1;
  u.replace_peers = true;
  for (uint32_t i = 0; i < 5000; ++i) u.peers.push_back(peer_n(i, 1));
  auto msgs = build_set_messages(30, u, 8192);
  REQUIRE(msgs.ok());
  CHECK(msgs->size() > 50);
  for (size_t i = 0; i < msgs->size(); ++i) {
    CHECK(nlmsg_hdr((*msgs)[i].get())->nlmsg_len <= 8192);
    Device one;
    REQUIRE(parse_device_message(nlmsg_hdr((*msgs)[i].get()), one).ok());
    CHECK(one.ifindex == 3);
    CHECK(one.listen_port == (i == 0 ? 1 : 0));
  }
  require_same_peers(u.peers, parse_all(*msgs));
}

TEST_CASE("wireguard: a peer with more allowed IPs than fit continues in the next message") {
  Update u;
  u.ifindex = 3;
  u.peers = peers_of(peer_n(1, 3), peer_n(2, 2000), peer_n(3, 1));
  auto msgs = build_set_messages(30, u, 4096);
  REQUIRE(msgs.ok());
  CHECK(msgs->size() > 5);
  // Continuations carry only the key: no flags, no endpoint, so REPLACE_ALLOWEDIPS is not repeated.
  size_t flagged = 0;
  for (const auto& m : *msgs) {
    Device one;
    REQUIRE(parse_device_message(nlmsg_hdr(m.get()), one).ok());
    for (const auto& p : one.peers)
      if (p.public_key == key_n(2) && p.flags) ++flagged;
  }
  CHECK(flagged == 1);
  require_same_peers(u.peers, parse_all(*msgs));
}

TEST_CASE("wireguard: remove-only peers carry the key and the flag") {
  Update u;
  u.ifindex = 1;
  Peer gone;
  gone.public_key = key_n(5);
  gone.flags = WGPEER_F_REMOVE_ME;
  gone.allowed_ips = {net_of("10.0.0.0/24")};
  u.peers = peers_of(std::move(gone));
  auto msgs = build_set_messages(30, u, 4096);
  REQUIRE(msgs.ok());
  Device d = parse_all(*msgs);
  REQUIRE(d.peers.size() == 1);
  CHECK(d.peers[0].flags == WGPEER_F_REMOVE_ME);
  CHECK(d.peers[0].allowed_ips.empty());
  CHECK(!d.peers[0].endpoint);
}

TEST_CASE("wireguard: malformed replies are rejected, unknown attributes skipped") {
  Update u;
  u.ifindex = 1;
  u.peers = peers_of(peer_n(1, 1));
  auto msgs = build_set_messages(30, u, 4096);
  REQUIRE(msgs.ok());
  nl_msg* m = (*msgs)[0].get();
  // An attribute from a future kernel at device level is ignored.
  REQUIRE(nla_put_u32(m, 200, 1) >= 0);
  Device d;
  CHECK(parse_device_message(nlmsg_hdr(m), d).ok());
  // A listen port of the wrong width is an error, not garbage.
  NlMsg bad(nlmsg_alloc());
  REQUIRE(genlmsg_put(bad.get(), NL_AUTO_PORT, NL_AUTO_SEQ, 30, 0, 0, WG_CMD_GET_DEVICE, 1));
  REQUIRE(nla_put_u32(bad.get(), WGDEVICE_A_LISTEN_PORT, 51820) >= 0);
  Device d2;
  auto s = parse_device_message(nlmsg_hdr(bad.get()), d2);
  CHECK(!s.ok());
  CHECK(s.error().msg.find("listen port") != std::string::npos);
}

TEST_CASE("uapi: set text and get parsing") {
  SecretKey sk = SecretKey::generate();
  Update u;
  u.name = "wg9";
  u.private_key = &sk;
  u.listen_port = 51821;
  u.peers = peers_of(peer_n(1, 2));
  u.peers[0].endpoint = Endpoint{*IpAddr::parse("2001:db8::9"), 443};
  Peer gone;
  gone.public_key = key_n(2);
  gone.flags = WGPEER_F_REMOVE_ME;
  u.peers.push_back(std::move(gone));
  std::string t = uapi_set_text(u);
  CHECK(t.starts_with("set=1\nprivate_key=" + key_to_hex(sk.bytes()) + "\nlisten_port=51821\n"));
  CHECK(t.find("endpoint=[2001:db8::9]:443\n") != std::string::npos);
  CHECK(t.find("replace_allowed_ips=true\nallowed_ip=10.0.16.0/32\nallowed_ip=10.0.16.1/32\n") != std::string::npos);
  CHECK(t.find("public_key=" + key_to_hex(key_n(2)) + "\nremove=true\n") != std::string::npos);
  CHECK(t.ends_with("\n\n"));

  std::string reply = "private_key=" + key_to_hex(sk.bytes()) + "\nlisten_port=51821\nfwmark=7\npublic_key=" +
                      key_to_hex(key_n(1)) +
                      "\npreshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
                      "protocol_version=1\nendpoint=[2001:db8::9]:443\nlast_handshake_time_sec=1700000000\n"
                      "last_handshake_time_nsec=5\ntx_bytes=100\nrx_bytes=200\npersistent_keepalive_interval=25\n"
                      "allowed_ip=10.0.16.0/32\nallowed_ip=fd00::/64\nfuture_key=1\nerrno=0\n\n";
  auto d = uapi_parse_get(reply);
  REQUIRE(d.ok());
  CHECK(d->public_key == sk.public_key());
  CHECK(d->listen_port == 51821);
  CHECK(d->fwmark == 7);
  REQUIRE(d->peers.size() == 1);
  CHECK(!d->peers[0].preshared_key);
  CHECK(d->peers[0].endpoint->str() == "[2001:db8::9]:443");
  CHECK(d->peers[0].handshake_sec == 1700000000);
  CHECK(d->peers[0].rx_bytes == 200);
  CHECK(d->peers[0].tx_bytes == 100);
  CHECK(d->peers[0].allowed_ips.size() == 2);
  CHECK(!uapi_parse_get("errno=19\n\n").ok());
  CHECK(!uapi_parse_get("listen_port=x\n\n").ok());
  CHECK(!uapi_parse_get("garbage\n\n").ok());
}

TEST_CASE("keys: base64 strictness, public from private, key files") {
  SecretKey sk = SecretKey::generate();
  CHECK((sk.bytes()[0] & 7) == 0);
  CHECK((sk.bytes()[31] & 0x80) == 0);
  CHECK((sk.bytes()[31] & 0x40) != 0);
  std::string b = key_to_base64(sk.public_key());
  CHECK(b.size() == 44);
  CHECK(key_from_base64(b).ok());
  CHECK(*key_from_base64(b) == sk.public_key());
  CHECK(!key_from_base64(b.substr(0, 43)).ok());
  CHECK(!key_from_base64(b + "A").ok());
  CHECK(!key_from_base64("not base64 at all, but forty-four characters").ok());
  CHECK(!key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=AAAA").ok());
  // Known vector (RFC 7748 §6.1): Alice's private and public key.
  auto priv = key_from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  REQUIRE(priv.ok());
  SecretKey alice = SecretKey::from(*priv);
  CHECK(key_to_hex(alice.public_key()) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  CHECK(*priv == Key{});  // the source was wiped

  char dir[] = "/tmp/zl-keys.XXXXXX";
  REQUIRE(mkdtemp(dir));
  std::string path = std::string(dir) + "/sub/node.key";
  auto k1 = load_or_create_key(path);
  REQUIRE(k1.ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto k2 = load_or_create_key(path);
  REQUIRE(k2.ok());
  CHECK(k1->public_key() == k2->public_key());
  chmod(path.c_str(), 0644);
  auto loose = load_key(path);
  REQUIRE(!loose.ok());
  CHECK(loose.error().msg.find("0644") != std::string::npos);
  REQUIRE(write_file_atomic(std::string(dir) + "/bad.key", "hello\n", 0600).ok());
  CHECK(!load_key(std::string(dir) + "/bad.key").ok());
  unlink(path.c_str());
  unlink((std::string(dir) + "/bad.key").c_str());
  rmdir((std::string(dir) + "/sub").c_str());
  rmdir(dir);
}

TEST_CASE("keys: the fast public-key decoder agrees with libsodium and is as strict") {
  for (int i = 0; i < 2000; ++i) {
    Key k{};
    randombytes_buf(k.data(), k.size());
    std::string b = key_to_base64(k);
    auto d = key_from_base64(b);
    REQUIRE(d.ok());
    CHECK(*d == k);
  }
  std::string b = key_to_base64(Key{});
  CHECK(b == "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  CHECK(!key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=").ok());  // non-canonical tail bits
  CHECK(!key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==").ok());
  CHECK(!key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-=").ok());
  CHECK(!key_from_base64("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAAAA=").ok());
}
