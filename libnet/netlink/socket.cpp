#include "libnet/netlink/netlink.h"

#include <netlink/handlers.h>
#include <netlink/socket.h>

#include <cstring>

#include "libnet/netlink/receive.h"

namespace zl::net {

namespace {

Error nl_error(int nle, std::string_view what) {
  // libnl's own error codes (negative NLE_*); map the common ones back to errno.
  int e = EIO;
  switch (-nle) {
    case NLE_NOMEM: e = ENOMEM; break;
    case NLE_PERM: e = EPERM; break;
    case NLE_BUSY: e = EBUSY; break;
    case NLE_EXIST: e = EEXIST; break;
    case NLE_OBJ_NOTFOUND: e = ENOENT; break;
    case NLE_NODEV: e = ENODEV; break;
    case NLE_INVAL: e = EINVAL; break;
    default: break;
  }
  return Error{e, 0, std::string(what) + ": " + nl_geterror(nle)};
}


}  // namespace

Result<NlSock> NlSock::open(int protocol) {
  NlSock s;
  s.sk_ = nl_socket_alloc();
  if (!s.sk_) return Error::from_errno(ENOMEM, "netlink socket");
  int r = nl_connect(s.sk_, protocol);
  if (r < 0) return nl_error(r, "netlink connect");
  int one = 1;
  (void)setsockopt(nl_socket_get_fd(s.sk_), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  (void)setsockopt(nl_socket_get_fd(s.sk_), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  nl_socket_set_buffer_size(s.sk_, 1 << 20, 1 << 20);
  return s;
}

NlSock& NlSock::operator=(NlSock&& o) noexcept {
  if (this != &o) {
    if (sk_) nl_socket_free(sk_);
    sk_ = std::exchange(o.sk_, nullptr);
  }
  return *this;
}

NlSock::~NlSock() {
  if (sk_) nl_socket_free(sk_);
}

Status NlSock::exchange(std::span<nl_msg* const> msgs, const std::function<void(nlmsghdr*)>* on_msg,
                        std::string_view what, const std::vector<std::string>* names, bool secret, bool* interrupted) {
  const uint32_t port = nl_socket_get_local_port(sk_);
  // Many requests per sendmsg (the kernel handles each in turn); replies read per group, so
  // the acks owed never outgrow the receive buffer.
  constexpr size_t kGroup = 256, kDatagram = 32768;
  NlOutcome first;
  std::string buf;
  auto send = [&]() -> Status {
    if (buf.empty()) return {};
    int r = nl_sendto(sk_, buf.data(), buf.size());
    if (secret) explicit_bzero(buf.data(), buf.size());
    buf.clear();
    if (r < 0) return nl_error(r, what);
    return {};
  };
  for (size_t g = 0; g < msgs.size(); g += kGroup) {
    NlExpect x{.wipe = secret};
    for (size_t i = g; i < msgs.size() && i < g + kGroup; ++i) {
      if (!msgs[i]) return Error::from_errno(EMSGSIZE, names && i < names->size() ? (*names)[i] : std::string(what));
      nlmsghdr* h = nlmsg_hdr(msgs[i]);
      const bool dump = (h->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
      h->nlmsg_pid = port;
      h->nlmsg_seq = nl_socket_use_seq(sk_);
      h->nlmsg_flags |= NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK);
      if (i == g) x.first_seq = h->nlmsg_seq;
      x.is_dump.push_back(dump);
      if (buf.size() + NLMSG_ALIGN(h->nlmsg_len) > kDatagram) {
        if (auto st = send(); !st) return st;
      }
      buf.append(reinterpret_cast<const char*>(h), NLMSG_ALIGN(h->nlmsg_len));
      if (secret) explicit_bzero(h, h->nlmsg_len);
    }
    if (auto st = send(); !st) return st;
    static const std::function<void(nlmsghdr*)> kIgnore = [](nlmsghdr*) {};
    const auto& cb = on_msg ? *on_msg : kIgnore;
    auto got = nl_receive(nl_socket_get_fd(sk_), port, x,
                          [&](const nlmsghdr* h) { cb(const_cast<nlmsghdr*>(h)); }, what);
    if (!got) return std::move(got).error();
    if (interrupted && got->interrupted) *interrupted = true;
    if (got->error && !first.error) {
      first = std::move(*got);
      if (names) {
        size_t i = g + (first.failed_seq - x.first_seq);
        if (i < names->size()) what = (*names)[i];
      }
    }
  }
  if (first.error) {
    Error e = Error::from_errno(first.error, what);
    if (!first.ext_ack.empty()) e.msg += " (" + first.ext_ack + ")";
    return e;
  }
  return {};
}

Status NlSock::request(nl_msg* msg, std::string_view what, bool secret) {
  if (!msg) return Error::from_errno(EMSGSIZE, what);
  nl_msg* one[] = {msg};
  return exchange(one, nullptr, what, nullptr, secret, nullptr);
}

Status NlSock::request_batch(const std::vector<NlMsg>& msgs, std::string_view what,
                             const std::vector<std::string>* names) {
  std::vector<nl_msg*> raw;
  raw.reserve(msgs.size());
  for (const auto& m : msgs) raw.push_back(m.get());
  return exchange(raw, nullptr, what, names, false, nullptr);
}

Status NlSock::query(const std::function<NlMsg()>& make, const std::function<void(nlmsghdr*)>& on_msg,
                     std::string_view what, bool secret) {
  constexpr int kAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    NlMsg m = make();
    if (!m) return Error::from_errno(EMSGSIZE, what);
    nl_msg* one[] = {m.get()};
    bool torn = false;
    if (auto s = exchange(one, &on_msg, what, nullptr, secret, &torn); !s) return s;
    if (!torn) return {};
    if (attempt == kAttempts) {
      return Error::from_errno(EINTR, std::string(what) + ": the dump was interrupted by concurrent changes " +
                                          std::to_string(kAttempts) + " times");
    }
  }
}

}  // namespace zl::net
