// The one netlink receive loop: every request we send (rtnetlink, generic netlink, nftables)
// is answered through it. Only replies addressed to our port with the sequence number of one
// of our requests are looked at; each request completes with its ACK/error or, for a dump,
// with NLMSG_DONE; NLM_F_DUMP_INTR anywhere in a dump is reported, never dropped.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "libnet/core/result.h"

namespace zl::net {

// What one exchange of requests got back.
struct NlOutcome {
  int error = 0;             // errno of the first request that failed, 0 if none did
  uint32_t failed_seq = 0;   // that request's sequence number
  std::string ext_ack;       // the kernel's extended-ACK message for it, if any
  bool interrupted = false;  // a dump reply carried NLM_F_DUMP_INTR: its contents are torn
  std::vector<bool> answered;  // per expected request: its ACK, error or NLMSG_DONE came
};

struct NlExpect {
  uint32_t first_seq = 0;      // requests carry first_seq, first_seq + 1, … consecutively
  std::vector<bool> is_dump;   // per request: completes with NLMSG_DONE (else with an ACK)
  bool drain = false;          // instead: read what is queued now, without waiting (nftables
                               // batches are handled inside sendmsg, so every reply is queued)
  bool wipe = false;           // zero the receive buffer after each datagram (replies carry keys)
  int timeout_ms = 30000;      // a request the kernel never answers must not hang us
};

// Receives on `fd` (a netlink socket bound to `portid`) until every expected request has
// completed. `on_msg` sees each data message (type >= NLMSG_MIN_TYPE) of our requests.
// The Result fails only when the socket does (recv error, truncation, timeout).
Result<NlOutcome> nl_receive(int fd, uint32_t portid, const NlExpect& expect,
                             const std::function<void(const nlmsghdr*)>& on_msg, std::string_view what);

// The NLMSGERR_ATTR_MSG text of an NLMSG_ERROR message (extended ACK), or "".
std::string nl_ext_ack(const nlmsghdr* h);

}  // namespace zl::net
