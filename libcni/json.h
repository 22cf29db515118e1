// RapidJSON helpers: parsing with CNI decode errors and typed field access whose
// errors name the field and quote the bad value.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcni/errors.h"
#include "libnet/core/result.h"

namespace zl::cni {

using JVal = rapidjson::Value;
using JWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Every JSON document we read (stdin, IPAM state, delegated plugins' answers, peer lists,
// conflists) goes through parse_json or parse_json_sax: iterative (no recursion in the
// parser), UTF-8 validated, at most kMaxJsonBytes long and kMaxJsonDepth deep, so nothing
// later (serializing, copying, comparing) can recurse without bound either. Validation covers
// what escapes decode to as well: a lone UTF-16 surrogate ("\udc00") is refused, so every
// string we keep can be written back out as valid JSON.
inline constexpr size_t kMaxJsonBytes = size_t{64} << 20;
inline constexpr unsigned kMaxJsonDepth = 128;

// Parses text; code 6 (decode) with offset and reason on malformed, too large or too deep JSON.
Result<std::unique_ptr<rapidjson::Document>> parse_json(std::string_view text, std::string_view what);

namespace detail {
// Why the guard refused a document, if it did.
enum class Refusal { kNone, kTooDeep, kSurrogate };
// True when the decoded string holds an encoded UTF-16 surrogate (ED A0..BF xx): RapidJSON
// refuses a high surrogate without its pair, but lets a lone low one ("\udc00") through as
// such bytes, which are not UTF-8.
bool has_surrogate(const char* s, size_t n);
// Forwards SAX events to `inner`, refusing nesting beyond kMaxJsonDepth and strings that
// decoded to something that is not UTF-8.
template <class Inner>
struct JsonGuard {
  Inner& inner;
  unsigned depth = 0;
  Refusal refused = Refusal::kNone;
  bool Null() { return inner.Null(); }
  bool Bool(bool b) { return inner.Bool(b); }
  bool Int(int i) { return inner.Int(i); }
  bool Uint(unsigned i) { return inner.Uint(i); }
  bool Int64(int64_t i) { return inner.Int64(i); }
  bool Uint64(uint64_t i) { return inner.Uint64(i); }
  bool Double(double d) { return inner.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) { return inner.RawNumber(s, n, copy); }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return utf8(s, n) && inner.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return utf8(s, n) && inner.Key(s, n, copy); }
  bool StartObject() { return enter() && inner.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return --depth, inner.EndObject(n); }
  bool StartArray() { return enter() && inner.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return --depth, inner.EndArray(n); }
  bool enter() {
    if (++depth <= kMaxJsonDepth) return true;
    refused = Refusal::kTooDeep;
    return false;
  }
  bool utf8(const char* s, size_t n) {
    if (!has_surrogate(s, n)) return true;
    refused = Refusal::kSurrogate;
    return false;
  }
};
// Runs the reader; "" on success, else why (the handler's own reason when it refused).
std::string run_reader(std::string_view text, const std::function<rapidjson::ParseResult(rapidjson::Reader&,
                                                                                          rapidjson::MemoryStream&)>& parse,
                       const Refusal& refused, const std::string* handler_why);
}  // namespace detail

// SAX parsing with the same limits and errors as parse_json. `handler_why`: the reason the
// handler gives when one of its callbacks returns false (used in the message).
template <class Handler>
Status parse_json_sax(std::string_view text, std::string_view what, Handler& handler,
                      const std::string* handler_why = nullptr) {
  detail::JsonGuard<Handler> limited{handler};
  std::string why = detail::run_reader(
      text,
      [&](rapidjson::Reader& r, rapidjson::MemoryStream& ms) {
        return r.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(ms, limited);
      },
      limited.refused, handler_why);
  if (why.empty()) return {};
  return Error::make(kErrDecode, std::string(what) + ": " + why);
}

// A short rendering of a value for error messages (truncated).
std::string json_snippet(const JVal& v);
// `s` made valid UTF-8 (invalid sequences become U+FFFD) and cut to about `max` bytes with
// "…" at a character boundary: for echoing untrusted text in messages.
std::string printable(std::string_view s, size_t max = 256);
// Whether s is UTF-8 (what every JSON document we write must be).
bool valid_utf8(std::string_view s);

// Member lookup that tolerates non-objects; nullptr when absent or null.
const JVal* member(const JVal& obj, std::string_view key);

// Typed getters: nullopt if absent/null; code 7 naming "<path>" on a wrong type or range.
// Strings never contain a NUL byte (it would cut a path or name short on its way to the kernel).
Result<std::optional<std::string>> get_string(const JVal& obj, std::string_view key, std::string_view path);
// An absolute path: no NUL, no "." or ".." component, at most 4095 bytes; `dflt` when absent.
Result<std::string> get_path(const JVal& obj, std::string_view key, std::string_view path, std::string dflt);
Status validate_path(std::string_view value, std::string_view path);
Result<std::optional<bool>> get_bool(const JVal& obj, std::string_view key, std::string_view path);
Result<std::optional<int64_t>> get_int(const JVal& obj, std::string_view key, std::string_view path, int64_t min,
                                       int64_t max);
Result<const JVal*> get_array(const JVal& obj, std::string_view key, std::string_view path);
// A list of strings (each NUL-free); [] when absent, code 7 naming "<path>" on any other shape.
Result<std::vector<std::string>> get_strings(const JVal& obj, std::string_view key, std::string_view path);
Result<const JVal*> get_object(const JVal& obj, std::string_view key, std::string_view path);

// Serializes a value compactly.
std::string to_json(const JVal& v);
// Writers: "key": "value" with the value's exact bytes, and what a buffer holds.
void write_key_string(JWriter& w, std::string_view key, std::string_view value);
std::string buffer_text(const rapidjson::StringBuffer& sb);

}  // namespace zl::cni
