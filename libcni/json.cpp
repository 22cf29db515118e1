#include "libcni/json.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "libcni/errors.h"

namespace zl::cni {

int error_code(const Error& e) {
  if (e.code != 0) return e.code;
  if (e.sys == EAGAIN || e.sys == EINTR) return kErrTryAgainLater;
  if (e.sys == EIO || e.sys == ENOSPC || e.sys == EROFS || e.sys == EDQUOT || e.sys == EACCES || e.sys == EFBIG) {
    return kErrIo;
  }
  return kErrInternal;
}

namespace detail {

bool has_surrogate(const char* s, size_t n) {
  for (const void* p; n > 1 && (p = std::memchr(s, 0xed, n - 1)) != nullptr;) {
    size_t i = static_cast<const char*>(p) - s;
    if (static_cast<unsigned char>(s[i + 1]) >= 0xa0) return true;
    s += i + 1;
    n -= i + 1;
  }
  return false;
}

std::string run_reader(std::string_view text,
                       const std::function<rapidjson::ParseResult(rapidjson::Reader&, rapidjson::MemoryStream&)>& parse,
                       const Refusal& refused, const std::string* handler_why) {
  if (text.size() > kMaxJsonBytes) {
    return std::to_string(text.size()) + " bytes: larger than the limit of " + std::to_string(kMaxJsonBytes >> 20) +
           " MiB";
  }
  rapidjson::Reader reader;
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::ParseResult r = parse(reader, ms);
  if (!r.IsError()) return {};
  if (refused == Refusal::kSurrogate) {
    return "string before offset " + std::to_string(r.Offset()) +
           ": a \\u escape of a lone UTF-16 surrogate (not a character; its pair is missing)";
  }
  if (refused == Refusal::kTooDeep) return "nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at offset " + std::to_string(r.Offset());
  if (handler_why && !handler_why->empty()) return *handler_why;
  return "invalid JSON at offset " + std::to_string(r.Offset()) + ": " + rapidjson::GetParseError_En(r.Code());
}

}  // namespace detail

Result<std::unique_ptr<rapidjson::Document>> parse_json(std::string_view text, std::string_view what) {
  auto doc = std::make_unique<rapidjson::Document>();
  std::string why;
  auto build = [&](rapidjson::Document& d) {
    detail::JsonGuard<rapidjson::Document> limited{d};
    why = detail::run_reader(
        text,
        [&](rapidjson::Reader& r, rapidjson::MemoryStream& ms) {
          return r.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(ms, limited);
        },
        limited.refused, nullptr);
    return why.empty();
  };
  doc->Populate(build);
  if (!why.empty()) return fail(kErrDecode, std::string(what) + ": " + why);
  return doc;
}

std::string to_json(const JVal& v) {
  rapidjson::StringBuffer sb;
  JWriter w(sb);
  v.Accept(w);
  return buffer_text(sb);
}

void write_key_string(JWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string buffer_text(const rapidjson::StringBuffer& sb) { return std::string(sb.GetString(), sb.GetSize()); }

std::string json_snippet(const JVal& v) {
  std::string s = to_json(v);
  if (s.size() > 64) s = s.substr(0, 61) + "...";
  return s;
}

const JVal* member(const JVal& obj, std::string_view key) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(JVal(rapidjson::StringRef(key.data(), key.size())));
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

static Error type_error(std::string_view path, std::string_view want, const JVal& v) {
  return fail(kErrInvalidConfig,
              std::string(path) + ": expected " + std::string(want) + ", got " + json_snippet(v));
}

Result<std::optional<std::string>> get_string(const JVal& obj, std::string_view key, std::string_view path) {
  const JVal* v = member(obj, key);
  if (!v) return std::optional<std::string>{};
  if (!v->IsString()) return type_error(path, "a string", *v);
  std::string out(v->GetString(), v->GetStringLength());
  if (out.find('\0') != std::string::npos) {
    return fail(kErrInvalidConfig, std::string(path) + " \"" + printable(out) + "\": contains a NUL byte");
  }
  return std::optional<std::string>{std::move(out)};
}

Status validate_path(std::string_view value, std::string_view path) {
  auto bad = [&](const char* why) {
    return fail(kErrInvalidConfig, std::string(path) + " \"" + printable(value) + "\": " + why);
  };
  if (value.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  if (value.empty() || value[0] != '/') return bad("must be an absolute path");
  if (value.size() > 4095) return bad("longer than 4095 bytes");
  for (size_t pos = 1; pos <= value.size();) {
    size_t end = value.find('/', pos);
    if (end == std::string_view::npos) end = value.size();
    std::string_view part = value.substr(pos, end - pos);
    if (part == "." || part == "..") return bad("must not contain '.' or '..' components");
    pos = end + 1;
  }
  return {};
}

Result<std::string> get_path(const JVal& obj, std::string_view key, std::string_view path, std::string dflt) {
  auto s = get_string(obj, key, path);
  if (!s) return std::move(s).error();
  std::string p = s->value_or(std::move(dflt));
  if (auto st = validate_path(p, path); !st) return std::move(st).error();
  return p;
}

// The length of the UTF-8 character at s[i], or 0 when no valid one starts there (overlong,
// surrogate, beyond U+10FFFF or cut short).
static size_t utf8_char_len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  if (n >= 3) {
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) {
      return 0;
    }
  }
  return n;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0, n; i < s.size(); i += n)
    if ((n = utf8_char_len(s, i)) == 0) return false;
  return true;
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 4);
  size_t i = 0;
  while (i < s.size()) {
    if (out.size() >= max) {
      out += "\xe2\x80\xa6";  // …
      break;
    }
    size_t n = utf8_char_len(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (n == 1 && ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)) {
      out += '?';  // no terminal escape sequences from what we were given
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

Result<std::optional<bool>> get_bool(const JVal& obj, std::string_view key, std::string_view path) {
  const JVal* v = member(obj, key);
  if (!v) return std::optional<bool>{};
  if (!v->IsBool()) return type_error(path, "true or false", *v);
  return std::optional<bool>{v->GetBool()};
}

Result<std::optional<int64_t>> get_int(const JVal& obj, std::string_view key, std::string_view path, int64_t min,
                                       int64_t max) {
  const JVal* v = member(obj, key);
  if (!v) return std::optional<int64_t>{};
  if (!v->IsInt64()) return type_error(path, "an integer", *v);
  int64_t n = v->GetInt64();
  if (n < min || n > max) {
    return fail(kErrInvalidConfig, std::string(path) + " " + std::to_string(n) + ": must be " + std::to_string(min) +
                                       "-" + std::to_string(max));
  }
  return std::optional<int64_t>{n};
}

Result<const JVal*> get_array(const JVal& obj, std::string_view key, std::string_view path) {
  const JVal* v = member(obj, key);
  if (v && !v->IsArray()) return type_error(path, "a list", *v);
  return v;
}

Result<std::vector<std::string>> get_strings(const JVal& obj, std::string_view key, std::string_view path) {
  auto arr = get_array(obj, key, path);
  if (!arr) return std::move(arr).error();
  std::vector<std::string> out;
  if (!*arr) return out;
  for (const auto& e : (*arr)->GetArray()) {
    if (!e.IsString()) return fail(kErrInvalidConfig, std::string(path) + ": expected strings, got " + json_snippet(e));
    out.emplace_back(e.GetString(), e.GetStringLength());
    if (out.back().find('\0') != std::string::npos) {
      return fail(kErrInvalidConfig, std::string(path) + " \"" + printable(out.back()) + "\": contains a NUL byte");
    }
  }
  return out;
}

Result<const JVal*> get_object(const JVal& obj, std::string_view key, std::string_view path) {
  const JVal* v = member(obj, key);
  if (v && !v->IsObject()) return type_error(path, "an object", *v);
  return v;
}

}  // namespace zl::cni
