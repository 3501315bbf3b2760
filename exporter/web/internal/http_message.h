// What the web server's connections and its request handling pass between
// them: one parsed request (only the parts the endpoints use) and one answer.
//
// RequestParser is a Beast parser that enforces the request limits while it
// parses: the request line and header together at most kMaxHeaderBytes, at
// most kMaxHeaderFields fields, a body of at most kMaxBodyBytes (Content-Length
// or chunked). It keeps only the fields the endpoints read and throws the body
// away as it arrives, so a request never costs more than its limits, and a
// body is never read as the next request. One parser per request; not
// thread-safe.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/verb.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "exporter/metrics/exposition_cache.h"

namespace tle::web {

constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxHeaderFields = 64;
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;

struct Request {
  boost::beast::http::verb method = boost::beast::http::verb::unknown;
  std::string target;  // as sent: path and query
  std::string authorization;
  std::string accept_encoding;
  std::string remote;  // the peer's address, for log lines
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
  std::string body;
  std::optional<ScrapeBody> scrape;  // the body instead of `body`, unsent
  bool close = false;                // close the connection after it
  // Held until the last byte is written: the request's --web.max-requests
  // slot.
  std::shared_ptr<void> slot;
};

// A plain text answer.
Response TextResponse(int status, std::string body);

// "HTTP/1.1 200 OK\r\n...\r\n\r\n" for `response` with a body of
// `content_length` bytes; `keep_alive_header` adds Connection: keep-alive (for
// HTTP/1.0 clients that asked for it).
std::string SerializeHead(const Response& response, std::size_t content_length,
                          bool keep_alive_header);

class RequestParser final
    : public boost::beast::http::basic_parser</*isRequest=*/true> {
 public:
  RequestParser();

  // Valid once the header is parsed.
  boost::beast::http::verb method() const { return method_; }
  const std::string& target() const { return target_; }
  int version() const { return version_; }
  std::string& authorization() { return authorization_; }
  std::string& accept_encoding() { return accept_encoding_; }
  bool expect_continue() const { return expect_continue_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view,
                       string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view,
                     string_view value, error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&,
                         error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    return body.size();  // read and thrown away
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body,
                                 error_code&) override {
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  std::string target_;
  int version_ = 11;
  std::string authorization_;
  std::string accept_encoding_;
  bool expect_continue_ = false;
  bool has_authorization_ = false;
  std::size_t fields_ = 0;
};

}  // namespace tle::web
