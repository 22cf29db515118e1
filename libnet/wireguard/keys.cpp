#include "libnet/wireguard/keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "libnet/core/fd.h"
#include "libnet/core/file.h"

namespace zl::net {

SecretKey::SecretKey() = default;
SecretKey::SecretKey(SecretKey&& o) noexcept : k_(o.k_) { sodium_memzero(o.k_.data(), kKeyLen); }
SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  if (this != &o) {
    k_ = o.k_;
    sodium_memzero(o.k_.data(), kKeyLen);
  }
  return *this;
}
SecretKey::~SecretKey() { sodium_memzero(k_.data(), kKeyLen); }

SecretKey SecretKey::generate() {
  if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing safe to do
  SecretKey s;
  randombytes_buf(s.k_.data(), kKeyLen);
  s.k_[0] &= 248;
  s.k_[31] = static_cast<uint8_t>((s.k_[31] & 127) | 64);
  return s;
}

SecretKey SecretKey::from(Key& k) {
  SecretKey s;
  s.k_ = k;
  sodium_memzero(k.data(), kKeyLen);
  return s;
}

SecretKey SecretKey::from_bytes(const uint8_t* p) {
  SecretKey s;
  std::memcpy(s.k_.data(), p, kKeyLen);
  return s;
}

SecretKey SecretKey::clone() const {
  SecretKey s;
  s.k_ = k_;
  return s;
}

bool SecretKey::equals(const SecretKey& o) const { return sodium_memcmp(k_.data(), o.k_.data(), kKeyLen) == 0; }
bool SecretKey::is_zero() const { return sodium_is_zero(k_.data(), kKeyLen) != 0; }

Key SecretKey::public_key() const {
  Key pub{};
  crypto_scalarmult_curve25519_base(pub.data(), k_.data());
  return pub;
}

std::string key_to_base64(const Key& k) {
  char b[sodium_base64_ENCODED_LEN(kKeyLen, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b, sizeof b, k.data(), kKeyLen, sodium_base64_VARIANT_ORIGINAL);
  return b;
}

// Strict base64 of exactly 32 bytes. Public keys come by the thousand from peer lists:
// this table decoder is ~20x cheaper than libsodium's constant-time one, which stays in use
// for secrets (decode_secret below).
Result<Key> key_from_base64(std::string_view s) {
  static constexpr auto kTable = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  auto bad = [] { return Error::make(0, "key: must be 44 characters of base64 encoding 32 bytes"); };
  if (s.size() != 44 || s[43] != '=') return bad();
  Key k{};
  uint32_t acc = 0;
  size_t out = 0;
  for (size_t i = 0; i < 43; ++i) {
    int v = kTable[static_cast<unsigned char>(s[i])];
    if (v < 0) return bad();
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (i % 4 == 3) {
      k[out++] = static_cast<uint8_t>(acc >> 16);
      k[out++] = static_cast<uint8_t>(acc >> 8);
      k[out++] = static_cast<uint8_t>(acc);
      acc = 0;
    }
  }
  // 43 symbols = 10 full groups (30 bytes) + 3 symbols (18 bits) carrying 2 bytes; the
  // last 2 bits must be zero for the encoding to be canonical.
  if (acc & 3) return bad();
  k[out++] = static_cast<uint8_t>(acc >> 10);
  k[out++] = static_cast<uint8_t>(acc >> 2);
  return k;
}

// Constant-time decode for secret keys.
static Result<Key> decode_secret(std::string_view s) {
  Key k{};
  size_t n = 0;
  const char* end = nullptr;
  if (s.size() != 44 || s[43] != '=' ||
      sodium_base642bin(k.data(), kKeyLen, s.data(), s.size(), nullptr, &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      n != kKeyLen || end != s.data() + s.size()) {
    sodium_memzero(k.data(), kKeyLen);
    return Error::make(0, "key: must be 44 characters of base64 encoding 32 bytes");
  }
  return k;
}

std::string key_to_hex(const Key& k) {
  char b[kKeyLen * 2 + 1];
  sodium_bin2hex(b, sizeof b, k.data(), kKeyLen);
  return b;
}

void append_hex(std::string& out, const Key& k) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t b : k) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
}

Result<Key> key_from_hex(std::string_view s) {
  Key k{};
  size_t n = 0;
  if (s.size() != kKeyLen * 2 || sodium_hex2bin(k.data(), kKeyLen, s.data(), s.size(), nullptr, &n, nullptr) != 0 ||
      n != kKeyLen) {
    return Error::make(0, "key: must be 64 hex digits");
  }
  return k;
}

// A key file: ours, a regular file, not a symlink, no access for group or others.
constexpr FileRules kKeyRules{.follow_symlink = false, .must_own = true, .forbidden_mode = 077};

Result<SecretKey> load_key(const std::string& path) {
  auto fd = open_regular(path, kKeyRules);
  if (!fd) return std::move(fd).error().wrap("key file");
  char buf[128];
  ssize_t n;
  do {
    n = ::read(fd->get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Error::from_errno(errno, "read key file " + path);
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  auto k = decode_secret(text);
  sodium_memzero(buf, sizeof buf);
  if (!k) return Error{EINVAL, 0, "key file " + path + ": " + k.error().msg};
  return SecretKey::from(*k);
}

namespace {

// Temp files "<path>.tmp.<pid>" of writers that died before publishing (older versions, or
// the fallback below): each holds a whole private key, so it goes as soon as its writer is gone.
void remove_dead_writers_temps(const std::string& path) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir_of(path).c_str()), ::closedir);
  if (!d) return;
  const std::string prefix = path.substr(path.rfind('/') + 1) + ".tmp.";
  while (const dirent* e = ::readdir(d.get())) {
    std::string_view name(e->d_name);
    if (name.size() <= prefix.size() || !name.starts_with(prefix)) continue;
    std::string_view digits = name.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string_view::npos || digits.size() > 9) continue;
    pid_t pid = static_cast<pid_t>(std::stol(std::string(digits)));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) ::unlinkat(::dirfd(d.get()), e->d_name, 0);
  }
}

// Writes the key's file body into an open file; the base64 text lives only in a wiped buffer.
bool write_key(int fd, const SecretKey& key) {
  char text[sodium_base64_ENCODED_LEN(kKeyLen, sodium_base64_VARIANT_ORIGINAL) + 1];
  sodium_bin2base64(text, sizeof text, key.bytes().data(), kKeyLen, sodium_base64_VARIANT_ORIGINAL);
  size_t len = std::strlen(text);
  text[len++] = '\n';
  bool ok = ::write(fd, text, len) == static_cast<ssize_t>(len) && ::fsync(fd) == 0;
  int err = errno;
  sodium_memzero(text, sizeof text);
  errno = err;
  return ok;
}

// Publishes a new key file at `path` without ever replacing one: an unnamed file (O_TMPFILE)
// linked into place, so a kill at any instant leaves no partial or orphaned key behind; a
// named temp file on filesystems without O_TMPFILE. EEXIST: another process won the race.
Status publish_key(const std::string& path, const SecretKey& key) {
  UniqueFd fd(::open(dir_of(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (fd) {
    if (!write_key(fd.get(), key)) return Error::from_errno(errno, "write key file " + path);
    std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      return Error::from_errno(errno, "create key file " + path);
    }
    return {};
  }
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) return Error::from_errno(errno, "create key file " + path);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, "create key file " + tmp);
  bool ok = write_key(fd.get(), key);
  int err = errno;
  fd.reset();
  // link() publishes the complete file atomically and never replaces a key another
  // process created meanwhile.
  int lr = ok ? ::link(tmp.c_str(), path.c_str()) : -1;
  if (ok) err = errno;
  ::unlink(tmp.c_str());
  if (!ok) return Error::from_errno(err, "write key file " + tmp);
  if (lr != 0) return Error::from_errno(err, "create key file " + path);
  return {};
}

}  // namespace

Result<SecretKey> load_or_create_key(const std::string& path) {
  remove_dead_writers_temps(path);
  auto existing = load_key(path);
  if (existing || existing.error().sys != ENOENT) return existing;
  if (auto s = make_dirs(dir_of(path), 0700); !s) return std::move(s).error();
  SecretKey key = SecretKey::generate();
  if (auto s = publish_key(path, key); !s) {
    if (s.error().sys == EEXIST) return load_key(path);  // that one wins and we load it
    return std::move(s).error();
  }
  return key;
}

}  // namespace zl::net
