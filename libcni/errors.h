// CNI error codes (spec "Error codes") and the plugin-specific ones zl-cni adds.
#pragma once

#include <string>

#include "libnet/core/result.h"

namespace zl::cni {

inline constexpr int kErrIncompatibleVersion = 1;
inline constexpr int kErrUnsupportedField = 2;
inline constexpr int kErrUnknownContainer = 3;
inline constexpr int kErrInvalidEnv = 4;
inline constexpr int kErrIo = 5;
inline constexpr int kErrDecode = 6;
inline constexpr int kErrInvalidConfig = 7;
inline constexpr int kErrTryAgainLater = 11;
inline constexpr int kErrNotAvailable = 50;         // STATUS: plugin cannot serve ADDs
inline constexpr int kErrNotAvailableLimited = 51;  // STATUS: limited connectivity
// zl-cni specific (100+ is the plugins' range).
inline constexpr int kErrAddressUnavailable = 100;  // requested address taken, or pool exhausted
inline constexpr int kErrCheckMismatch = 101;       // CHECK found the kernel or state differs
inline constexpr int kErrInternal = 999;

inline Error fail(int code, std::string msg) { return Error::make(code, std::move(msg)); }

// The CNI code for an error: its own code, else derived from errno.
int error_code(const Error& e);

}  // namespace zl::cni
