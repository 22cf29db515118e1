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

// A private key: wiped on destruction, never copied implicitly.
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
  const Key& bytes() const { return k_; }
  Key public_key() const;

 private:
  Key k_{};
};

std::string key_to_base64(const Key& k);
// Strict: 44 characters of standard base64 encoding exactly 32 bytes (code 0, EINVAL).
Result<Key> key_from_base64(std::string_view s);
std::string key_to_hex(const Key& k);
Result<Key> key_from_hex(std::string_view s);

// Loads the private key at `path`, creating it (0600, atomically) when absent.
// Refuses a file readable or writable by group/others, or not owned by us.
Result<SecretKey> load_or_create_key(const std::string& path);
// Loads a key file (private or preshared) with the same permission rules; never creates.
Result<SecretKey> load_key(const std::string& path);

}  // namespace zl::net
