#include "exporter/web/internal/http_message.h"

#include <strings.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

namespace tle::web {

namespace http = boost::beast::http;

Response TextResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

std::string SerializeHead(const Response& response, std::size_t content_length,
                          bool keep_alive_header) {
  std::string out;
  out.reserve(256);
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  auto reason = http::obsolete_reason(
      http::int_to_status(static_cast<unsigned>(response.status)));
  out.append(reason.data(), reason.size());
  out += "\r\nContent-Type: ";
  out += response.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(content_length);
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (response.close) {
    out += "Connection: close\r\n";
  } else if (keep_alive_header) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

RequestParser::RequestParser() {
  header_limit(kMaxHeaderBytes);
  body_limit(kMaxBodyBytes);
}

void RequestParser::on_request_impl(http::verb method, string_view,
                                    string_view target, int version,
                                    error_code&) {
  method_ = method;
  target_.assign(target.data(), target.size());
  version_ = version;
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = http::error::bad_method;  // never called for a request parser
}

void RequestParser::on_field_impl(http::field name, string_view,
                                  string_view value, error_code& ec) {
  if (++fields_ > kMaxHeaderFields) {
    ec = http::error::header_limit;
    return;
  }
  switch (name) {
    case http::field::authorization:
      if (!has_authorization_) {  // the first one counts, as in Go
        authorization_.assign(value.data(), value.size());
        has_authorization_ = true;
      }
      break;
    case http::field::accept_encoding:
      if (!accept_encoding_.empty()) accept_encoding_ += ',';
      accept_encoding_.append(value.data(), value.size());
      break;
    case http::field::expect:
      expect_continue_ = value.size() == 12 &&
                         strncasecmp(value.data(), "100-continue", 12) == 0;
      break;
    default:
      break;
  }
}

}  // namespace tle::web
