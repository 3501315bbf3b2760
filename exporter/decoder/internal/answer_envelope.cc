#include "exporter/decoder/internal/answer_envelope.h"

#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "exporter/decoder/room_page_decoder.h"

namespace tle::detail {
namespace {

namespace json = boost::json;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a "\uXXXX" escape starting at text[i], or -1.
long EscapedUnit(std::string_view text, std::size_t i) {
  if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
  long unit = 0;
  for (std::size_t j = i + 2; j < i + 6; ++j) {
    const int h = HexValue(text[j]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

// Boost.JSON rejects a lone UTF-16 surrogate escape even with
// allow_invalid_utf8: a copy of `body` with each one replaced by "\ufffd", or
// nullopt when there is none.
std::optional<std::string> RepairLoneSurrogates(std::string_view body) {
  std::optional<std::string> repaired;
  std::size_t i = body.find('\\');
  while (i != std::string_view::npos && i + 1 < body.size()) {
    const long unit = EscapedUnit(body, i);
    std::size_t next = i + 2;
    if (unit >= 0) {
      next = i + 6;
      bool lone = false;
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const long low = EscapedUnit(body, i + 6);
        if (low >= 0xdc00 && low <= 0xdfff) {
          next = i + 12;
        } else {
          lone = true;
        }
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        lone = true;
      }
      if (lone) {
        if (!repaired) repaired.emplace(body);
        repaired->replace(i, 6, "\\ufffd");
      }
    }
    i = body.find('\\', next);
  }
  return repaired;
}

// The RequestId of an answer that did not parse: the first
// `"RequestId":"..."` in the text, if it is short plain text; else "".
std::string SalvageRequestId(std::string_view body) {
  constexpr std::string_view kKey = "\"RequestId\"";
  constexpr std::size_t kMaxLength = kMaxRequestIdBytes;
  std::size_t at = body.find(kKey);
  if (at == std::string_view::npos) return std::string();
  std::size_t i = at + kKey.size();
  auto skip_space = [&] {
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t' ||
                               body[i] == '\n' || body[i] == '\r')) {
      ++i;
    }
  };
  skip_space();
  if (i >= body.size() || body[i] != ':') return std::string();
  ++i;
  skip_space();
  if (i >= body.size() || body[i] != '"') return std::string();
  const std::size_t start = ++i;
  while (i < body.size() && i - start <= kMaxLength) {
    const auto c = static_cast<unsigned char>(body[i]);
    if (c == '"') return std::string(body.substr(start, i - start));
    if (c < 0x20 || c >= 0x7f || c == '\\') return std::string();
    ++i;
  }
  return std::string();
}

// A string field of the envelope through UpstreamText (capped, valid UTF-8,
// no control characters: it goes into log lines); "" when missing.
std::string StringField(const json::object& obj, std::string_view key,
                        std::size_t max_bytes) {
  const json::value* v = obj.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::string();
  return UpstreamText(
      std::string_view(v->get_string().data(), v->get_string().size()),
      max_bytes);
}

// `out` with its root parsed: out itself when it is OK with a Response
// object, else the error.
Result<Envelope, FetchError> CheckEnvelope(Envelope out) {
  const json::object* top = out.root.if_object();
  if (top == nullptr) return DecodeError("answer is not a JSON object");
  out.request_id = StringField(*top, "RequestId", kMaxRequestIdBytes);
  std::int64_t code = 0;
  if (const json::value* ec = top->if_contains("ErrorCode"); ec != nullptr) {
    const std::optional<std::int64_t> n = ToInteger(*ec);
    if (!n) return DecodeError("ErrorCode is not an integer", out.request_id);
    code = *n;
  }
  if (code != 0) {
    return FetchError{ErrorKind::kApi, code,
                      StringField(*top, "ErrorInfo", kMaxErrorInfoBytes),
                      out.request_id};
  }
  const json::value* status = top->if_contains("ActionStatus");
  if (status == nullptr || !status->is_string() ||
      status->get_string() != "OK") {
    const std::string info = StringField(*top, "ErrorInfo", kMaxErrorInfoBytes);
    return DecodeError("ActionStatus is not OK but ErrorCode is 0" +
                           (info.empty() ? "" : ": " + info),
                       out.request_id);
  }
  const json::value* response = top->if_contains("Response");
  out.response = response == nullptr ? nullptr : response->if_object();
  if (out.response == nullptr) {
    return DecodeError("OK answer without a Response object", out.request_id);
  }
  return out;
}

}  // namespace

FetchError DecodeError(std::string message, std::string request_id) {
  FetchError error;
  error.kind = ErrorKind::kDecode;
  error.message = std::move(message);
  error.request_id = std::move(request_id);
  return error;
}

std::optional<std::int64_t> ToInteger(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64:
      return v.get_int64();
    case json::kind::uint64:
      if (v.get_uint64() > static_cast<std::uint64_t>(
                               std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
      }
      return static_cast<std::int64_t>(v.get_uint64());
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d) || std::trunc(d) != d ||
          std::fabs(d) > 9007199254740992.0) {
        return std::nullopt;
      }
      return static_cast<std::int64_t>(d);
    }
    case json::kind::string: {
      const json::string& s = v.get_string();
      std::size_t i = 0;
      const bool negative = !s.empty() && s[0] == '-';
      if (negative) i = 1;
      if (i >= s.size() || s.size() - i > 18) return std::nullopt;
      std::int64_t n = 0;
      for (; i < s.size(); ++i) {
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        n = n * 10 + (s[i] - '0');
      }
      return negative ? -n : n;
    }
    default:
      return std::nullopt;
  }
}

Result<Envelope, FetchError> ParseEnvelope(std::string_view body) {
  if (body.size() > kMaxAnswerBytes) {
    return DecodeError("answer larger than 8 MiB");
  }
  Envelope out;
  try {
    const std::optional<std::string> repaired = RepairLoneSurrogates(body);
    const std::string_view text = repaired ? std::string_view(*repaired) : body;
    json::parse_options options;
    options.allow_invalid_utf8 = true;
    options.max_depth = 32;
    json::error_code ec;
    out.root = json::parse(json::string_view(text.data(), text.size()), ec,
                           json::storage_ptr(out.resource.get()), options);
    if (ec) {
      return DecodeError("answer is not valid JSON: " + ec.message(),
                         SalvageRequestId(text));
    }
    return CheckEnvelope(std::move(out));
  } catch (const std::exception& e) {
    return DecodeError(std::string("cannot decode answer: ") + e.what());
  } catch (...) {
    return DecodeError("cannot decode answer");
  }
}

}  // namespace tle::detail
