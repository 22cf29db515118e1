#include "plugins/zl-ipam/store.h"

#include "libcni/errors.h"
#include "libcni/json.h"


namespace zl::ipam {

using cni::fail;
using cni::kErrDecode;

namespace {

// A SAX reader for the state: no DOM, addresses and strings taken straight from the text,
// so a 5 000-allocation state costs a pass over its bytes, not a tree of allocations.
class StateReader : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, StateReader> {
 public:
  explicit StateReader(State& s) : s_(s) {}
  std::string why;  // set when a handler refuses
  bool saw_allocations = false;

  bool Default() { return skipping() || refuse("unexpected value"); }
  bool Null() {
    if (skipping()) return true;
    if (where_ == kLastReserved) {
      s_.last_reserved.emplace_back();
      return true;
    }
    return refuse("unexpected null");
  }
  bool String(const char* str, rapidjson::SizeType len, bool) {
    if (skipping()) return true;
    std::string_view v(str, len);
    if (where_ == kLastReserved) {
      auto a = net::IpAddr::parse(v);
      if (!a) return refuse("lastReserved: bad address \"" + std::string(v.substr(0, 64)) + "\"");
      s_.last_reserved.emplace_back(*a);
      return true;
    }
    if (where_ != kAllocation) return refuse("unexpected string");
    Allocation& al = s_.allocations.back();
    switch (field_) {
      case kIp: {
        auto a = net::IpAddr::parse(v);
        if (!a) return refuse("bad allocation address \"" + std::string(v.substr(0, 64)) + "\"");
        al.ip = *a;
        have_ |= 1;
        return true;
      }
      case kId:
        al.container_id.assign(v);
        have_ |= 2;
        return true;
      case kIfname:
        al.ifname.assign(v);
        have_ |= 4;
        return true;
      default:
        return true;  // unknown member of an allocation: ignored
    }
  }
  bool StartObject() {
    if (skipping()) return ++skip_, true;
    if (where_ == kStart) return where_ = kTop, true;
    if (where_ == kAllocations) {
      s_.allocations.emplace_back();
      have_ = 0;
      field_ = kOther;
      return where_ = kAllocation, true;
    }
    return refuse("unexpected object");
  }
  bool Key(const char* str, rapidjson::SizeType len, bool) {
    if (skipping()) return true;
    std::string_view k(str, len);
    if (where_ == kTop) {
      if (k == "lastReserved") return next_ = kLastReserved, true;
      if (k == "allocations") return next_ = kAllocations, saw_allocations = true, true;
      next_ = kSkip;  // a member from a newer version
      return true;
    }
    if (where_ == kAllocation) {
      field_ = k == "ip" ? kIp : k == "containerID" ? kId : k == "ifname" ? kIfname : kOther;
      return true;
    }
    return refuse("unexpected key");
  }
  bool EndObject(rapidjson::SizeType) {
    if (skip_) return --skip_, true;
    if (where_ == kAllocation) {
      if (have_ != 7) return refuse("allocation without ip, containerID and ifname");
      return where_ = kAllocations, true;
    }
    return where_ = kDone, true;
  }
  bool StartArray() {
    if (skipping()) return ++skip_, true;
    if (where_ == kTop && (next_ == kLastReserved || next_ == kAllocations)) return where_ = next_, true;
    return refuse(where_ == kTop ? "unexpected list" : "unexpected nested list");
  }
  bool EndArray(rapidjson::SizeType) {
    if (skip_) return --skip_, true;
    return where_ = kTop, true;
  }
  // Scalars under an unknown top-level key are skipped; elsewhere they are errors.
  bool Bool(bool) { return Default(); }
  bool Int(int) { return Default(); }
  bool Uint(unsigned) { return Default(); }
  bool Int64(int64_t) { return Default(); }
  bool Uint64(uint64_t) { return Default(); }
  bool Double(double) { return Default(); }

 private:
  enum Where { kStart, kTop, kLastReserved, kAllocations, kAllocation, kSkip, kDone };
  enum Field { kIp, kId, kIfname, kOther };
  bool skipping() {
    if (where_ == kTop && next_ == kSkip && !skip_) {
      next_ = kTop;  // a scalar value of an unknown key: consumed
      return true;
    }
    return skip_ > 0 || (where_ == kTop && next_ == kSkip);
  }
  bool refuse(std::string w) {
    why = std::move(w);
    return false;
  }

  State& s_;
  Where where_ = kStart, next_ = kTop;
  Field field_ = kOther;
  int have_ = 0;
  int skip_ = 0;
};

}  // namespace

Result<State> parse_state(std::string_view text, const std::string& what) {
  State s;
  StateReader h(s);
  if (auto st = cni::parse_json_sax(text, what, h, &h.why); !st) return std::move(st).error();
  // Every state we write has "allocations"; without it this is some other file, not ours to overwrite.
  if (!h.saw_allocations) return fail(kErrDecode, what + ": not a zl-ipam state (no allocations list)");
  return s;
}

std::string serialize_state(const State& s) {
  rapidjson::StringBuffer sb;
  cni::JWriter w(sb);
  w.StartObject();
  w.Key("lastReserved");
  w.StartArray();
  for (const auto& a : s.last_reserved) {
    if (a) {
      w.String(a->str());
    } else {
      w.Null();
    }
  }
  w.EndArray();
  w.Key("allocations");
  w.StartArray();
  for (const auto& a : s.allocations) {
    w.StartObject();
    w.Key("ip");
    w.String(a.ip.str());
    w.Key("containerID");
    w.String(a.container_id);
    w.Key("ifname");
    w.String(a.ifname);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  std::string out(sb.GetString(), sb.GetSize());
  out += '\n';
  return out;
}

static std::string state_path(const Config& c) { return c.data_dir + "/" + c.network + ".json"; }

// The state store could not be used (not its contents: those are code 6): an I/O error.
static Error io_error(Error e) {
  e.code = cni::kErrIo;
  return std::move(e).wrap("zl-ipam state");
}

static Result<State> load(const std::string& path) {
  // Ours alone: never through a symlink, never a FIFO or device (which would block or never end).
  auto text = net::read_file(path, {.follow_symlink = false});
  if (!text) {
    if (text.error().sys == ENOENT) return State{};
    return io_error(std::move(text).error());
  }
  return parse_state(*text, path);
}

Result<Store> Store::open(const Config& config) {
  Store st;
  auto lock = net::DirLock::acquire(config.data_dir);
  if (!lock) return io_error(std::move(lock).error());
  st.lock_ = std::move(*lock);
  st.path_ = state_path(config);
  net::remove_stale_temps(st.path_);  // of writers killed mid-commit; the lock is ours
  auto state = load(st.path_);
  if (!state) return std::move(state).error();
  st.state_ = std::move(*state);
  return st;
}

Result<State> Store::peek(const Config& config) { return load(state_path(config)); }

Status Store::commit() {
  if (auto s = net::write_file_atomic(path_, serialize_state(state_), 0600); !s) return io_error(std::move(s).error());
  return {};
}

}  // namespace zl::ipam
