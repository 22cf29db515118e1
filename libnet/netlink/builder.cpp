#include "libnet/netlink/builder.h"

#include <cerrno>
#include <climits>

namespace zl::net {

bool Nest::close() {
  if (!b_ || !b_->ok()) {
    cancel();
    return false;
  }
  NlBuilder* b = std::exchange(b_, nullptr);
  // libnl refuses (and removes) a nest over 64 KiB.
  if (nla_nest_end(b->get(), start_) < 0) return b->fail(name_, "nest over 64 KiB");
  return true;
}

void Nest::cancel() {
  if (!b_) return;
  if (b_->get()) nla_nest_cancel(b_->get(), start_);
  b_ = nullptr;
}

NlBuilder::NlBuilder(NlMsg m, std::string_view what) : what_(what), msg_(std::move(m)) {
  if (!msg_) fail("message", "out of memory");
}

bool NlBuilder::fail(const char* name, const char* why) {
  if (failed_.empty()) failed_ = std::string(name) + ": " + why;
  return false;
}

bool NlBuilder::put(NlAttr a, const void* data, size_t len) {
  if (!ok()) return false;
  if (len > USHRT_MAX - NLA_HDRLEN) return fail(a.name, "attribute too long");
  if (nla_put(msg_.get(), a.type, static_cast<int>(len), data) < 0) return fail(a.name, "message full");
  return true;
}

bool NlBuilder::str(NlAttr a, std::string_view s) {
  if (s.find('\0') != std::string_view::npos) return ok() && fail(a.name, "string holds a NUL");
  std::string z(s);
  return put(a, z.c_str(), z.size() + 1);
}

bool NlBuilder::append(const char* name, const void* data, size_t len) {
  if (!ok()) return false;
  if (nlmsg_append(msg_.get(), const_cast<void*>(data), len, NLMSG_ALIGNTO) < 0) return fail(name, "message full");
  return true;
}

Nest NlBuilder::nest(NlAttr a) {
  if (!ok()) return Nest(nullptr, nullptr, a.name);
  nlattr* start = nla_nest_start(msg_.get(), a.type);
  if (!start) {
    fail(a.name, "message full");
    return Nest(nullptr, nullptr, a.name);
  }
  return Nest(this, start, a.name);
}

Status NlBuilder::status() const {
  if (ok()) return {};
  return Error{EMSGSIZE, 0, what_ + ": " + failed_};
}

Result<NlMsg> NlBuilder::take() {
  if (!ok()) return status().error();
  return std::move(msg_);
}

NlMsg NlBuilder::take_or_null() {
  if (!ok()) return nullptr;
  return std::move(msg_);
}

}  // namespace zl::net
