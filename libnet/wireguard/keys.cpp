#include "libnet/wireguard/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

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

Result<Key> key_from_hex(std::string_view s) {
  Key k{};
  size_t n = 0;
  if (s.size() != kKeyLen * 2 || sodium_hex2bin(k.data(), kKeyLen, s.data(), s.size(), nullptr, &n, nullptr) != 0 ||
      n != kKeyLen) {
    return Error::make(0, "key: must be 64 hex digits");
  }
  return k;
}

static Status check_mode(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno(errno, "stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{EINVAL, 0, "key file " + path + ": not a regular file"};
  if (st.st_mode & 077) {
    char m[8];
    std::snprintf(m, sizeof m, "%04o", st.st_mode & 07777);
    return Error{EPERM, 0, "key file " + path + " has mode " + m + ": must not be accessible to group or others (chmod 600)"};
  }
  if (st.st_uid != ::geteuid()) {
    return Error{EPERM, 0, "key file " + path + " is owned by uid " + std::to_string(st.st_uid) + ", not us"};
  }
  return {};
}

Result<SecretKey> load_key(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return Error::from_errno(errno, "open key file " + path);
  if (auto s = check_mode(fd.get(), path); !s) return std::move(s).error();
  char buf[128];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return Error::from_errno(errno, "read key file " + path);
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  auto k = decode_secret(text);
  sodium_memzero(buf, sizeof buf);
  if (!k) return Error{EINVAL, 0, "key file " + path + ": " + k.error().msg};
  return SecretKey::from(*k);
}

Result<SecretKey> load_or_create_key(const std::string& path) {
  auto existing = load_key(path);
  if (existing || existing.error().sys != ENOENT) return existing;
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (auto s = make_dirs(path.substr(0, slash), 0700); !s) return std::move(s).error();
  }
  SecretKey key = SecretKey::generate();
  std::string text = key_to_base64(key.bytes()) + "\n";
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Error::from_errno(errno, "create key file " + tmp);
  bool ok = ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd.get()) == 0;
  int err = errno;
  sodium_memzero(text.data(), text.size());
  fd.reset();
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error::from_errno(err, "write key file " + tmp);
  }
  // link() publishes the complete file atomically and never replaces a key another
  // process created meanwhile: that one wins and we load it.
  int lr = ::link(tmp.c_str(), path.c_str());
  err = errno;
  ::unlink(tmp.c_str());
  if (lr != 0) {
    if (err == EEXIST) return load_key(path);
    return Error::from_errno(err, "create key file " + path);
  }
  return key;
}

}  // namespace zl::net
