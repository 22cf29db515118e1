// The netlink receive loop, fed crafted reply streams through a datagram socketpair (no kernel).
#include <doctest/doctest.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "libnet/core/fd.h"
#include "libnet/netlink/receive.h"

namespace {

using zl::net::NlExpect;
using zl::net::UniqueFd;

constexpr uint32_t kPort = 4242;
constexpr uint16_t kData = 16;  // RTM_NEWLINK: any type >= NLMSG_MIN_TYPE is data

// One reply message: header plus payload, aligned.
std::string msg(uint16_t type, uint16_t flags, uint32_t seq, std::string payload = {}, uint32_t pid = kPort) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + payload.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  h.nlmsg_pid = pid;
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += payload;
  out.resize(NLMSG_ALIGN(out.size()), '\0');
  return out;
}

std::string done(uint32_t seq, uint16_t flags = NLM_F_MULTI, int err = 0) {
  return msg(NLMSG_DONE, flags, seq, std::string(reinterpret_cast<const char*>(&err), sizeof err));
}

// An NLMSG_ERROR for `seq` (error 0 is an ACK), optionally with an extended-ACK message.
std::string ack(uint32_t seq, int err = 0, const std::string& ext = {}) {
  nlmsgerr e{};
  e.error = -err;
  e.msg.nlmsg_len = NLMSG_HDRLEN;  // capped: the request is not echoed
  e.msg.nlmsg_seq = seq;
  std::string payload(reinterpret_cast<const char*>(&e), sizeof e);
  uint16_t flags = NLM_F_CAPPED;
  if (!ext.empty()) {
    flags |= NLM_F_ACK_TLVS;
    nlattr a{};
    a.nla_type = NLMSGERR_ATTR_MSG;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + ext.size() + 1);
    payload.append(reinterpret_cast<const char*>(&a), sizeof a);
    payload += ext;
    payload += '\0';
    payload.resize(NLA_ALIGN(payload.size()), '\0');
  }
  return msg(NLMSG_ERROR, flags, seq, payload);
}

struct Pair {
  UniqueFd ours, kernel;
  Pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) == 0);
    ours.reset(fds[0]);
    kernel.reset(fds[1]);
  }
  void send(const std::string& datagram) { REQUIRE(::send(kernel.get(), datagram.data(), datagram.size(), 0) == static_cast<ssize_t>(datagram.size())); }
};

NlExpect expect(uint32_t first, std::vector<bool> dumps) {
  NlExpect x;
  x.first_seq = first;
  x.is_dump = std::move(dumps);
  x.timeout_ms = 2000;
  return x;
}

}  // namespace

TEST_CASE("netlink receive: NLM_F_DUMP_INTR on the final NLMSG_DONE is reported, not dropped") {
  Pair p;
  p.send(msg(kData, NLM_F_MULTI, 7) + msg(kData, NLM_F_MULTI, 7));
  p.send(done(7, NLM_F_MULTI | NLM_F_DUMP_INTR));
  int seen = 0;
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(7, {true}), [&](const nlmsghdr*) { ++seen; }, "dump");
  REQUIRE(r.ok());
  CHECK(seen == 2);
  CHECK(r->interrupted);
  CHECK(r->error == 0);
  CHECK(r->answered == std::vector<bool>{true});
}

TEST_CASE("netlink receive: an interrupted data message marks the dump torn") {
  Pair p;
  p.send(msg(kData, NLM_F_MULTI | NLM_F_DUMP_INTR, 3) + done(3));
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(3, {true}), [](const nlmsghdr*) {}, "dump");
  REQUIRE(r.ok());
  CHECK(r->interrupted);
}

TEST_CASE("netlink receive: replies for other ports or other requests are ignored") {
  Pair p;
  int seen = 0;
  p.send(msg(kData, NLM_F_MULTI, 9, {}, kPort + 1));  // someone else's port
  p.send(msg(kData, NLM_F_MULTI, 8));                 // a request before ours
  p.send(msg(kData, NLM_F_MULTI, 9) + done(9));
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(9, {true}), [&](const nlmsghdr*) { ++seen; }, "dump");
  REQUIRE(r.ok());
  CHECK(seen == 1);
  CHECK_FALSE(r->interrupted);
}

TEST_CASE("netlink receive: the first failing request is named with the kernel's message; all are awaited") {
  Pair p;
  p.send(ack(20) + ack(21, EEXIST, "File exists here") + ack(22, EINVAL));
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(20, {false, false, false}), [](const nlmsghdr*) {}, "batch");
  REQUIRE(r.ok());
  CHECK(r->error == EEXIST);
  CHECK(r->failed_seq == 21);
  CHECK(r->ext_ack == "File exists here");
  CHECK(r->answered == std::vector<bool>{true, true, true});
}

TEST_CASE("netlink receive: an error ends a dump too; a DONE carrying an error fails it") {
  Pair p;
  p.send(ack(30, ENOENT));
  p.send(done(31, NLM_F_MULTI, -ENODEV));
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(30, {true, true}), [](const nlmsghdr*) {}, "dumps");
  REQUIRE(r.ok());
  CHECK(r->error == ENOENT);
  CHECK(r->answered == std::vector<bool>{true, true});
}

TEST_CASE("netlink receive: malformed replies never read out of bounds") {
  Pair p;
  std::string shortack = msg(NLMSG_ERROR, 0, 40);  // no nlmsgerr at all
  p.send(shortack);
  std::string garbage(7, '\xff');  // shorter than a header: skipped
  p.send(garbage);
  nlmsghdr h{};
  h.nlmsg_len = 4096;  // claims more than the datagram holds
  h.nlmsg_seq = 41;
  h.nlmsg_pid = kPort;
  h.nlmsg_type = NLMSG_DONE;
  p.send(std::string(reinterpret_cast<const char*>(&h), sizeof h));
  p.send(done(41));
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(40, {false, true}), [](const nlmsghdr*) {}, "bad");
  REQUIRE(r.ok());
  CHECK(r->error == EPROTO);
  CHECK(r->answered == std::vector<bool>{true, true});
}

TEST_CASE("netlink receive: a request never answered times out instead of hanging") {
  Pair p;
  auto x = expect(50, {false});
  x.timeout_ms = 50;
  auto r = zl::net::nl_receive(p.ours.get(), kPort, x, [](const nlmsghdr*) {}, "silent");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().sys == ETIMEDOUT);
}

TEST_CASE("netlink receive: drain mode reads what is queued and stops") {
  Pair p;
  p.send(ack(60, EBUSY));
  auto x = expect(60, {false, false});
  x.drain = true;
  auto r = zl::net::nl_receive(p.ours.get(), kPort, x, [](const nlmsghdr*) {}, "drain");
  REQUIRE(r.ok());
  CHECK(r->error == EBUSY);
  CHECK(r->answered == std::vector<bool>{true, false});
}

TEST_CASE("netlink receive: a datagram larger than the initial buffer is read whole") {
  Pair p;
  std::string big;
  for (int i = 0; i < 2000; ++i) big += msg(kData, NLM_F_MULTI, 70, std::string(40, 'x'));
  big += done(70);
  REQUIRE(big.size() > (1u << 16));
  p.send(big);
  int seen = 0;
  auto r = zl::net::nl_receive(p.ours.get(), kPort, expect(70, {true}), [&](const nlmsghdr*) { ++seen; }, "big");
  REQUIRE(r.ok());
  CHECK(seen == 2000);
}
