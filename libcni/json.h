// RapidJSON helpers: parsing with CNI decode errors and typed field access whose
// errors name the field and quote the bad value.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libnet/core/result.h"

namespace zl::cni {

using JVal = rapidjson::Value;
using JWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses text; code 6 (decode) with offset and reason on malformed JSON.
Result<std::unique_ptr<rapidjson::Document>> parse_json(std::string_view text, std::string_view what);

// A short rendering of a value for error messages (truncated).
std::string json_snippet(const JVal& v);

// Member lookup that tolerates non-objects; nullptr when absent or null.
const JVal* member(const JVal& obj, std::string_view key);

// Typed getters: nullopt if absent/null; code 7 naming "<path>" on a wrong type or range.
Result<std::optional<std::string>> get_string(const JVal& obj, std::string_view key, std::string_view path);
Result<std::optional<bool>> get_bool(const JVal& obj, std::string_view key, std::string_view path);
Result<std::optional<int64_t>> get_int(const JVal& obj, std::string_view key, std::string_view path, int64_t min,
                                       int64_t max);
Result<const JVal*> get_array(const JVal& obj, std::string_view key, std::string_view path);
Result<const JVal*> get_object(const JVal& obj, std::string_view key, std::string_view path);

// Serializes a value compactly.
std::string to_json(const JVal& v);

}  // namespace zl::cni
