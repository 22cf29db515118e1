// Building netlink messages: typed puts that say which attribute did not fit, and nests
// that close themselves. The first put that fails latches the builder: later puts do
// nothing and return false, and take()/status() (both [[nodiscard]]) return the error
// naming that attribute, so no failure is lost even where a put's bool is not looked at.
// A Nest that is not closed is cancelled when it goes out of scope: a message never holds
// a half-written nest.
#pragma once

#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "libnet/core/ip.h"
#include "libnet/core/result.h"
#include "libnet/netlink/netlink.h"

namespace zl::net {

// An attribute type and its name for errors: ZL_ATTR(IFLA_MTU).
struct NlAttr {
  int type;
  const char* name;
};
#define ZL_ATTR(x) (::zl::net::NlAttr{(x), #x})

class NlBuilder;

// An open nested attribute; closed with close(), cancelled (removed) otherwise.
class Nest {
 public:
  Nest(Nest&& o) noexcept : b_(std::exchange(o.b_, nullptr)), start_(o.start_), name_(o.name_) {}
  Nest(const Nest&) = delete;
  Nest& operator=(const Nest&) = delete;
  Nest& operator=(Nest&&) = delete;
  ~Nest() { cancel(); }
  explicit operator bool() const { return b_ != nullptr; }
  // Ends the nest; false, and the nest removed, when it was never opened or something put
  // in it did not fit (the builder says what). An empty nest is dropped (libnl), not an error.
  bool close();
  // Removes the nest and everything put in it.
  void cancel();

 private:
  friend class NlBuilder;
  Nest(NlBuilder* b, nlattr* start, const char* name) : b_(b), start_(start), name_(name) {}
  NlBuilder* b_;
  nlattr* start_;
  const char* name_;
};

class NlBuilder {
 public:
  // A new message of `type` with the fixed header `hdr`; `what` names the request in errors.
  template <class Hdr>
  NlBuilder(int type, int flags, const Hdr& hdr, std::string_view what) : what_(what) {
    msg_.reset(nlmsg_alloc_simple(type, flags));
    if (!msg_) fail("message", "out of memory");
    else if (nlmsg_append(msg_.get(), const_cast<Hdr*>(&hdr), sizeof hdr, NLMSG_ALIGNTO) < 0) fail("header", "message full");
  }
  // Puts into an existing message (a genetlink one, sized by its allocator).
  NlBuilder(NlMsg m, std::string_view what);

  bool u8(NlAttr a, uint8_t v) { return put(a, &v, sizeof v); }
  bool u16(NlAttr a, uint16_t v) { return put(a, &v, sizeof v); }
  bool u32(NlAttr a, uint32_t v) { return put(a, &v, sizeof v); }
  bool u64(NlAttr a, uint64_t v) { return put(a, &v, sizeof v); }
  // With its NUL.
  bool str(NlAttr a, std::string_view s);
  // The bytes only (no NUL).
  bool bytes(NlAttr a, std::span<const uint8_t> b) { return put(a, b.data(), b.size()); }
  bool bytes(NlAttr a, std::string_view s) { return put(a, s.data(), s.size()); }
  // An address in its family's size (4 or 16 bytes).
  bool addr(NlAttr a, const IpAddr& ip) { return put(a, ip.b.data(), ip.size()); }
  bool put(NlAttr a, const void* data, size_t len);
  // A fixed header inside a nest (veth's peer ifinfomsg).
  bool append(const char* name, const void* data, size_t len);
  // Opens a nest; an unopened (false) Nest when the builder failed or the nest did not fit.
  [[nodiscard]] Nest nest(NlAttr a);

  bool ok() const { return failed_.empty(); }
  // "<what>: <ATTRIBUTE>: message full", EMSGSIZE; ok when nothing failed.
  [[nodiscard]] Status status() const;
  // Forgets a failure after the caller undid what did not fit (cancelled its nest).
  void recover() { failed_.clear(); }
  nl_msg* get() const { return msg_.get(); }
  size_t size() const { return msg_ ? nlmsg_hdr(msg_.get())->nlmsg_len : 0; }
  // The message, or the error naming what did not fit.
  [[nodiscard]] Result<NlMsg> take();
  // The message, or null when something did not fit (NlSock::request reports EMSGSIZE).
  [[nodiscard]] NlMsg take_or_null();

 private:
  friend class Nest;
  bool fail(const char* name, const char* why);
  std::string what_, failed_;
  NlMsg msg_;
};

}  // namespace zl::net
