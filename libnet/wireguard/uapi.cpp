// The userspace fallback: wireguard-go and its cross-platform UAPI socket.
#include <linux/wireguard.h>
#include <sodium.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "libnet/core/fd.h"
#include "libnet/core/search_path.h"
#include "libnet/wireguard/wireguard.h"

extern char** environ;

namespace zl::net::wg {
namespace {

constexpr const char* kSocketDir = "/var/run/wireguard";

template <class T>
bool parse_num(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::optional<Endpoint> parse_endpoint(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto a = IpAddr::parse(host);
  Endpoint e;
  if (!a || !parse_num(port, e.port)) return std::nullopt;
  e.addr = *a;
  return e;
}

std::string socket_path(const std::string& name) { return std::string(kSocketDir) + "/" + name + ".sock"; }

Result<std::string> uapi_call(const std::string& name, const std::string& request) {
  std::string path = socket_path(name);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::from_errno(errno, "uapi socket");
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) return Error::from_errno(ENAMETOOLONG, path);
  std::memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
    return Error::from_errno(errno, "connect " + path);
  }
  for (std::string_view r = request; !r.empty();) {
    ssize_t n = ::send(fd.get(), r.data(), r.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno(errno, "write " + path);
    r.remove_prefix(static_cast<size_t>(n));
  }
  // The reply ends with an empty line.
  std::string reply;
  char buf[65536];
  while (reply.size() < 2 || reply.compare(reply.size() - 2, 2, "\n\n") != 0) {
    pollfd p{fd.get(), POLLIN, 0};
    int pr = ::poll(&p, 1, 10000);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) return Error::from_errno(ETIMEDOUT, "read " + path);
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::from_errno(errno, "read " + path);
    if (n == 0) break;
    reply.append(buf, static_cast<size_t>(n));
    sodium_memzero(buf, static_cast<size_t>(n));
    if (reply.size() > (64u << 20)) return Error::from_errno(EMSGSIZE, "read " + path);
  }
  return reply;
}

// "errno=N" of a reply; 0 when it reports success.
int reply_errno(std::string_view reply) {
  auto pos = reply.rfind("errno=");
  if (pos == std::string_view::npos) return EPROTO;
  auto end = reply.find('\n', pos);
  int e = EPROTO;
  if (!parse_num(reply.substr(pos + 6, end - pos - 6), e)) return EPROTO;
  return e;
}

class Userspace final : public Backend {
 public:
  std::string kind() const override { return "userspace"; }

  Result<int> ensure_device(NlSock& rtnl, const std::string& name) override {
    auto l = link_by_name(rtnl, name);
    if (!l) return std::move(l).error();
    struct stat st {};
    if (*l && ::stat(socket_path(name).c_str(), &st) == 0) return (*l)->index;
    if (*l) return Error{EEXIST, 0, "link " + name + " exists but no wireguard-go serves " + socket_path(name)};
    // wireguard-go daemonizes once the interface and its socket are up.
    char* argv[] = {const_cast<char*>("wireguard-go"), const_cast<char*>(name.c_str()), nullptr};
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    // Its only output is a banner urging the kernel module: noise for a deliberate fallback.
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = ::posix_spawnp(&pid, "wireguard-go", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Error::from_errno(rc, "start wireguard-go " + name);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      return Error{EIO, 0, "wireguard-go " + name + " failed to start (exit status " + std::to_string(WEXITSTATUS(status)) +
                               "; run `wireguard-go -f " + name + "` to see why)"};
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::stat(socket_path(name).c_str(), &st) != 0) {
      if (std::chrono::steady_clock::now() > deadline) return Error::from_errno(ETIMEDOUT, "wait for " + socket_path(name));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    l = link_by_name(rtnl, name);
    if (!l) return std::move(l).error();
    if (!*l) return Error::from_errno(ENODEV, "wireguard-go did not create " + name);
    return (*l)->index;
  }

  Result<Device> get(const std::string& name) override {
    auto reply = uapi_call(name, "get=1\n\n");
    if (!reply) return std::move(reply).error();
    auto d = uapi_parse_get(*reply);
    wipe(*reply);  // it carried the private key
    if (!d) return std::move(d).error().wrap("wireguard-go " + name);
    d->name = name;
    return d;
  }

  Status set(const Update& u) override {
    std::string body = uapi_set_text(u);
    auto reply = uapi_call(u.name, body);
    wipe(body);
    if (!reply) return std::move(reply).error();
    if (int e = reply_errno(*reply); e != 0) return Error::from_errno(e, "wireguard-go " + u.name + ": set");
    return {};
  }

 private:
  static void wipe(std::string& s) { sodium_memzero(s.data(), s.size()); }
};

}  // namespace

std::string uapi_set_text(const Update& u) {
  // Reserved up front: growing would leave copies of the keys in freed memory. The caller
  // wipes the result.
  size_t room = 256;
  for (const auto& p : u.peers) room += 512 + 48 * p.allowed_ips.size();
  std::string s;
  s.reserve(room);
  s += "set=1\n";
  if (u.private_key) {
    s += "private_key=";
    append_hex(s, u.private_key->bytes());
    s += '\n';
  }
  if (u.listen_port) s += "listen_port=" + std::to_string(*u.listen_port) + "\n";
  if (u.fwmark) s += "fwmark=" + std::to_string(*u.fwmark) + "\n";
  if (u.replace_peers) s += "replace_peers=true\n";
  for (const auto& p : u.peers) {
    s += "public_key=";
    append_hex(s, p.public_key);
    s += '\n';
    if (p.flags & WGPEER_F_REMOVE_ME) {
      s += "remove=true\n";
      continue;
    }
    if (p.flags & WGPEER_F_UPDATE_ONLY) s += "update_only=true\n";
    s += "preshared_key=";
    if (p.preshared_key) {
      append_hex(s, p.preshared_key->bytes());
    } else {
      s.append(64, '0');
    }
    s += '\n';
    if (p.endpoint) s += "endpoint=" + p.endpoint->str() + "\n";
    s += "persistent_keepalive_interval=" + std::to_string(p.keepalive) + "\n";
    if (p.flags & WGPEER_F_REPLACE_ALLOWEDIPS) s += "replace_allowed_ips=true\n";
    for (const auto& a : p.allowed_ips) s += "allowed_ip=" + a.masked().str() + "\n";
  }
  s += "\n";
  return s;
}

Result<Device> uapi_parse_get(std::string_view text) {
  Device d;
  Peer* peer = nullptr;
  auto bad = [](std::string_view line) { return Error{EBADMSG, 0, "malformed UAPI line \"" + std::string(line.substr(0, 80)) + "\""}; };
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) break;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return bad(line);
    std::string_view k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "errno") {
      int e = 0;
      if (!parse_num(v, e)) return bad(line);
      if (e != 0) return Error::from_errno(e, "get");
    } else if (k == "private_key") {
      auto key = key_from_hex(v);  // only to derive the public key; wiped at once
      if (!key) return bad("private_key=…");
      auto sk = SecretKey::from(*key);
      d.public_key = sk.public_key();
    } else if (k == "listen_port") {
      if (!parse_num(v, d.listen_port)) return bad(line);
    } else if (k == "fwmark") {
      if (!parse_num(v, d.fwmark)) return bad(line);
    } else if (k == "public_key") {
      auto key = key_from_hex(v);
      if (!key) return bad(line);
      d.peers.emplace_back();
      peer = &d.peers.back();
      peer->public_key = *key;
    } else if (!peer) {
      continue;  // an unknown device-level key from a newer implementation
    } else if (k == "preshared_key") {
      auto key = key_from_hex(v);
      if (!key) return bad("preshared_key=…");
      auto sk = SecretKey::from(*key);
      if (!sk.is_zero()) peer->preshared_key = std::move(sk);
    } else if (k == "endpoint") {
      peer->endpoint = parse_endpoint(v);
      if (!peer->endpoint) return bad(line);
    } else if (k == "persistent_keepalive_interval") {
      if (!parse_num(v, peer->keepalive)) return bad(line);
    } else if (k == "allowed_ip") {
      auto n = IpNet::parse(v);
      if (!n) return bad(line);
      peer->allowed_ips.push_back(*n);
    } else if (k == "last_handshake_time_sec") {
      if (!parse_num(v, peer->handshake_sec)) return bad(line);
    } else if (k == "last_handshake_time_nsec") {
      if (!parse_num(v, peer->handshake_nsec)) return bad(line);
    } else if (k == "rx_bytes") {
      if (!parse_num(v, peer->rx_bytes)) return bad(line);
    } else if (k == "tx_bytes") {
      if (!parse_num(v, peer->tx_bytes)) return bad(line);
    }
  }
  return d;
}

Result<std::unique_ptr<Backend>> open_userspace() {
  if (!userspace_available()) {
    return Error{ENOENT, 0, "userspace WireGuard is not available (needs wireguard-go on PATH and /dev/net/tun)"};
  }
  return std::unique_ptr<Backend>(new Userspace);
}

bool userspace_available() {
  struct stat st {};
  if (::stat("/dev/net/tun", &st) != 0) return false;
  const char* path = std::getenv("PATH");
  return find_executable("wireguard-go", path ? path : "/usr/local/bin:/usr/bin:/bin").has_value();
}

}  // namespace zl::net::wg
