#include "libnet/netlink/receive.h"

#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace zl::net {

std::string nl_ext_ack(const nlmsghdr* h) {
  if (h->nlmsg_type != NLMSG_ERROR || !(h->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) return {};
  const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  // The TLVs follow the error and the echoed request (absent when the ACK is capped).
  size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
    if (err->msg.nlmsg_len < NLMSG_HDRLEN) return {};
    off += err->msg.nlmsg_len - NLMSG_HDRLEN;
  }
  off = NLMSG_ALIGN(off);
  const auto* base = reinterpret_cast<const char*>(h);
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    nlattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.nla_len < NLA_HDRLEN || off + a.nla_len > h->nlmsg_len) break;
    if ((a.nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a.nla_len > NLA_HDRLEN) {
      const char* s = base + off + NLA_HDRLEN;
      return std::string(s, strnlen(s, a.nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a.nla_len);
  }
  return {};
}

namespace {

Error sock_error(int e, std::string_view what) { return Error::from_errno(e, std::string(what) + ": netlink receive"); }

// One datagram into buf (grown to fit); 0 when draining and nothing is queued.
Result<size_t> recv_one(int fd, std::vector<char>& buf, const NlExpect& x, std::string_view what) {
  for (;;) {
    if (!x.drain) {
      pollfd p{fd, POLLIN, 0};
      int pr = ::poll(&p, 1, x.timeout_ms);
      if (pr < 0 && errno == EINTR) continue;
      if (pr < 0) return sock_error(errno, what);
      if (pr == 0) return sock_error(ETIMEDOUT, what);
    }
    const int flags = x.drain ? MSG_DONTWAIT : 0;
    // Peek at the size first: a datagram larger than the buffer would be cut irrecoverably.
    ssize_t n = ::recv(fd, buf.data(), buf.size(), flags | MSG_PEEK | MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && x.drain && (errno == EAGAIN || errno == EWOULDBLOCK)) return size_t{0};
    if (n < 0) return sock_error(errno, what);
    if (static_cast<size_t>(n) > buf.size()) buf.resize(static_cast<size_t>(n));
    sockaddr_nl from{};
    socklen_t fl = sizeof from;
    n = ::recvfrom(fd, buf.data(), buf.size(), flags | MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fl);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sock_error(errno, what);
    if (static_cast<size_t>(n) > buf.size()) return sock_error(EMSGSIZE, what);
    if (fl >= sizeof from && from.nl_family == AF_NETLINK && from.nl_pid != 0) continue;  // not the kernel
    if (n == 0) continue;
    return static_cast<size_t>(n);
  }
}

}  // namespace

Result<NlOutcome> nl_receive(int fd, uint32_t portid, const NlExpect& x,
                             const std::function<void(const nlmsghdr*)>& on_msg, std::string_view what) {
  NlOutcome out;
  const size_t n_req = x.is_dump.size();
  std::vector<bool>& done = out.answered;
  done.assign(n_req, false);
  size_t pending = n_req;
  std::vector<char> buf(1 << 16);
  auto fail_once = [&](uint32_t seq, int err, const nlmsghdr* h) {
    if (out.error) return;
    out.error = err;
    out.failed_seq = seq;
    out.ext_ack = nl_ext_ack(h);
  };
  while (x.drain || pending > 0) {
    auto got = recv_one(fd, buf, x, what);
    if (!got) {
      if (x.wipe) explicit_bzero(buf.data(), buf.size());
      return std::move(got).error();
    }
    if (*got == 0) break;  // drained
    // NLMSG_OK / NLMSG_NEXT spelled out with sizes, not the macros' signed lengths.
    size_t off = 0;
    for (const nlmsghdr* h; off + sizeof(nlmsghdr) <= *got; off += NLMSG_ALIGN(h->nlmsg_len)) {
      h = reinterpret_cast<const nlmsghdr*>(buf.data() + off);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > *got - off) break;
      if (h->nlmsg_pid != portid) continue;
      const uint32_t idx = h->nlmsg_seq - x.first_seq;  // wraps to a huge index when below
      if (idx >= n_req || done[idx]) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) out.interrupted = true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(nlmsgerr)) {
          fail_once(h->nlmsg_seq, EPROTO, h);
        } else if (int e = static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error; e != 0) {
          fail_once(h->nlmsg_seq, e < 0 ? -e : EPROTO, h);
        }
      } else if (h->nlmsg_type == NLMSG_DONE) {
        if (!x.is_dump[idx]) continue;
        int e = 0;
        if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof e) std::memcpy(&e, NLMSG_DATA(h), sizeof e);
        if (e < 0) fail_once(h->nlmsg_seq, -e, h);
      } else {
        if (h->nlmsg_type >= NLMSG_MIN_TYPE) on_msg(h);
        continue;
      }
      done[idx] = true;
      --pending;
    }
    if (x.wipe) explicit_bzero(buf.data(), *got);
  }
  return out;
}

}  // namespace zl::net
