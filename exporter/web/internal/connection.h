// One client connection of the web server: a small state machine on its own
// strand, over plain TCP or TLS (Stream is beast::tcp_stream or
// beast::ssl_stream<beast::tcp_stream>).
//
//   [TLS handshake] -> wait for a request -> read it -> hand it to the
//   RequestHandler -> write the answer -> wait for the next one or close
//
// Deadlines (each one covers the whole phase, however many reads it takes):
// the TLS handshake kHandshakeTimeout; the first byte of a request
// kIdleTimeout after the connection opened or the last answer was written
// (idle keep-alive connections close then); the rest of the request (line,
// header and body) kRequestTimeout from its first byte; the answer
// kWriteTimeout plus a second per MiB. Limits are the RequestParser's; a
// request over one gets 431 or 413, a malformed one 400, and the connection
// closes. Requests on one connection are answered one at a time, in order;
// bytes a client sent ahead wait in the buffer. Nothing here throws.
//
// Owned by the shared_ptrs its pending operations hold; Shed() may be called
// from any thread, everything else runs on the connection's strand.
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "exporter/common/log.h"
#include "exporter/web/internal/connection_registry.h"
#include "exporter/web/internal/http_message.h"

namespace tle::web {

constexpr std::chrono::seconds kHandshakeTimeout{10};
constexpr std::chrono::seconds kIdleTimeout{5};
constexpr std::chrono::seconds kRequestTimeout{10};
// The answer: 10 s, plus 1 s per MiB of body (a 43 MiB exposition gets 53 s;
// a small one is taken whole by the kernel's socket buffer anyway).
constexpr std::chrono::seconds kWriteTimeout{10};
constexpr std::size_t kWriteBytesPerSecond = 1 << 20;
constexpr std::chrono::seconds kLingerTimeout{2};

using TcpStream = boost::beast::tcp_stream;
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

class RequestHandler {
 public:
  using Reply = std::function<void(Response)>;
  virtual ~RequestHandler() = default;
  // Answers `request` by calling `reply` exactly once, from any thread (maybe
  // before returning).
  virtual void Handle(Request request, Reply reply) = 0;
  // True once the server stops: answer what is in flight, take nothing new.
  virtual bool stopping() const = 0;
};

template <class Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // Plain TCP.
  Connection(ConnectionRegistry& registry, RequestHandler& handler,
             boost::asio::ip::tcp::socket socket, std::string remote)
      : ConnectionBase(registry),
        handler_(handler),
        stream_(std::move(socket)),
        buffer_(kMaxHeaderBytes * 2),
        remote_(std::move(remote)) {}

  // TLS: `context` is kept alive for as long as the connection lives.
  Connection(ConnectionRegistry& registry, RequestHandler& handler,
             boost::asio::ip::tcp::socket socket, std::string remote,
             std::shared_ptr<boost::asio::ssl::context> context)
      : ConnectionBase(registry),
        handler_(handler),
        context_(std::move(context)),
        stream_(TcpStream(std::move(socket)), *context_),
        buffer_(kMaxHeaderBytes * 2),
        remote_(std::move(remote)) {}

  // Starts serving; call once, after construction by make_shared.
  void Start() {
    boost::asio::dispatch(stream_.get_executor(),
                          [self = Self()] { self->Begin(); });
  }

  void Shed() override {
    boost::asio::post(stream_.get_executor(),
                      [self = Self()] { self->Close(); });
  }

 private:
  using error_code = boost::beast::error_code;

  std::shared_ptr<Connection> Self() {
    return std::static_pointer_cast<Connection>(shared_from_this());
  }
  TcpStream& tcp() { return boost::beast::get_lowest_layer(stream_); }

  void Begin() {
    MarkEvictable();
    if constexpr (kTls) {
      tcp().expires_after(kHandshakeTimeout);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = Self()](error_code ec) {
                                if (ec) return self->Close();
                                self->WaitForRequest();
                              });
    } else {
      WaitForRequest();
    }
  }

  void WaitForRequest() {
    if (closed_) return;
    if (handler_.stopping()) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // sent ahead (pipelined)
    if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();
    tcp().expires_after(kIdleTimeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = Self()](error_code ec, std::size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    tcp().expires_after(kRequestTimeout);
    parser_.emplace();
    boost::beast::http::async_read_header(
        stream_, buffer_, *parser_,
        [self = Self()](error_code ec, std::size_t) {
          if (ec) return self->ReadFailed(ec);
          self->HeaderRead();
        });
  }

  void HeaderRead() {
    if (parser_->is_done()) return RequestRead();
    if (parser_->expect_continue()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      boost::asio::async_write(stream_, boost::asio::buffer(kContinue),
                               [self = Self()](error_code ec, std::size_t) {
                                 if (ec) return self->Close();
                                 self->ReadBody();
                               });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    boost::beast::http::async_read(stream_, buffer_, *parser_,
                                   [self = Self()](error_code ec, std::size_t) {
                                     if (ec) return self->ReadFailed(ec);
                                     self->RequestRead();
                                   });
  }

  void ReadFailed(error_code ec) {
    namespace http = boost::beast::http;
    parser_.reset();
    if (closed_) return;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return Refuse(431, "Request header fields too large\n");
    }
    if (ec == http::error::body_limit) {
      return Refuse(413, "Request body too large\n");
    }
    if (ec.category() ==
            make_error_code(http::error::header_limit).category() &&
        ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return Refuse(400, "Bad request\n");
    }
    Close();  // end of stream, timeout, reset: nobody to answer
  }

  void Refuse(int status, const char* text) {
    if (!MarkBusy()) return Close();
    keep_alive_ = false;
    head_ = false;
    Response response = TextResponse(status, text);
    response.close = true;
    Write(std::move(response));
  }

  void RequestRead() {
    namespace http = boost::beast::http;
    if (!MarkBusy()) return Close();
    keep_alive_ = parser_->keep_alive();
    version_ = parser_->version();
    head_ = parser_->method() == http::verb::head;
    Request request;
    request.method = parser_->method();
    request.target = parser_->target();
    request.authorization = std::move(parser_->authorization());
    request.accept_encoding = std::move(parser_->accept_encoding());
    request.remote = remote_;
    parser_.reset();
    handler_.Handle(std::move(request), [self = Self()](Response response) {
      boost::asio::dispatch(self->stream_.get_executor(),
                            [self, response = std::move(response)]() mutable {
                              self->Write(std::move(response));
                            });
    });
  }

  void Write(Response response) {
    if (closed_) return;  // dropping the response gives its slot back
    response_ = std::move(response);
    if (!keep_alive_ || handler_.stopping()) response_->close = true;
    std::size_t length =
        response_->scrape ? response_->scrape->size() : response_->body.size();
    head_text_ =
        SerializeHead(*response_, length, version_ == 10 && !response_->close);
    buffers_.clear();
    buffers_.emplace_back(head_text_.data(), head_text_.size());
    if (!head_) {
      if (response_->scrape) {
        // The shared snapshot bytes go out from where they are: no copy.
        const ScrapeBody& body = *response_->scrape;
        Add(body.head);
        for (std::string_view piece : body.middle) Add(piece);
        Add(body.tail);
      } else {
        Add(response_->body);
      }
    }
    tcp().expires_after(kWriteTimeout);
    boost::asio::async_write(
        stream_, buffers_,
        [self = Self()](error_code ec, std::size_t) { self->Written(ec); });
  }

  void Add(std::string_view bytes) {
    if (!bytes.empty()) buffers_.emplace_back(bytes.data(), bytes.size());
  }

  void Written(error_code ec) {
    bool close = response_ && response_->close;
    response_.reset();
    buffers_.clear();
    head_text_.clear();
    if (ec) return Close();
    if (close) return Linger();
    MarkEvictable();
    WaitForRequest();
  }

  // Ends the connection after a last answer without cutting it off: the
  // client may still be sending (a closing socket with unread input sends a
  // reset, which can destroy the answer before it is read).
  void Linger() {
    if (closed_) return;
    tcp().expires_after(kLingerTimeout);
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](error_code) { self->Close(); });
    } else {
      error_code ignored;
      tcp().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send,
                              ignored);
      buffer_.clear();
      Drain();
    }
  }

  void Drain() {
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = Self()](error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxBodyBytes)
                                return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    parser_.reset();
    tcp().close();
  }

  RequestHandler& handler_;
  std::shared_ptr<boost::asio::ssl::context> context_;  // TLS only
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string remote_;
  std::optional<RequestParser> parser_;  // while a request is read
  std::optional<Response> response_;     // while it is written
  std::string head_text_;
  std::vector<boost::asio::const_buffer> buffers_;
  bool keep_alive_ = true;
  bool head_ = false;
  int version_ = 11;
  std::size_t drained_ = 0;
  bool closed_ = false;
};

}  // namespace tle::web
