// WireGuard (X25519) keys: generation, base64, and the node's key file.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "libnet/core/result.h"

namespace zl::net {

inline constexpr size_t kKeyLen = 32;
using Key = std::array<uint8_t, kKeyLen>;  // public or preshared key material

// Secret key material (a private or a preshared key): wiped on destruction and when moved
// from, never copied implicitly. The one type secrets travel in, from file to netlink message.
class SecretKey {
 public:
  SecretKey();
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  SecretKey(SecretKey&& o) noexcept;
  SecretKey& operator=(SecretKey&& o) noexcept;
  ~SecretKey();
  // A fresh clamped Curve25519 private key from libsodium's CSPRNG.
  static SecretKey generate();
  // Takes ownership of `k`, wiping the source.
  static SecretKey from(Key& k);
  // Copies 32 bytes from a buffer the caller wipes (a netlink attribute, a hex decode).
  static SecretKey from_bytes(const uint8_t* p);
  // A deliberate second owner of the same secret (both wipe on destruction).
  SecretKey clone() const;
  // Constant-time comparison.
  bool equals(const SecretKey& o) const;
  bool is_zero() const;
  const Key& bytes() const { return k_; }
  Key public_key() const;

 private:
  Key k_{};
};

std::string key_to_base64(const Key& k);
// Strict: 44 characters of standard base64 encoding exactly 32 bytes (code 0, EINVAL).
Result<Key> key_from_base64(std::string_view s);
std::string key_to_hex(const Key& k);
// Appends the 64 hex digits of `k` to `out` without a temporary copy (for secrets).
void append_hex(std::string& out, const Key& k);
Result<Key> key_from_hex(std::string_view s);

// Loads the private key at `path`, creating it (0600, atomically) when absent.
// Refuses a file readable or writable by group/others, or not owned by us.
Result<SecretKey> load_or_create_key(const std::string& path);
// Loads a key file (private or preshared) with the same permission rules; never creates.
Result<SecretKey> load_key(const std::string& path);

}  // namespace zl::net
