#include "exporter/client/http_room_source.h"

#include <httplib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "exporter/client/usersig.h"

namespace tle {
namespace {

constexpr const char* kRoomListPath = "/v4/live_engine_http_srv/get_room_list";

std::int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string PercentEncode(const std::string& text) {
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
                      (u >= '0' && u <= '9') || c == '-' || c == '_' ||
                      c == '.' || c == '~' || c == '*';
    if (unreserved) {
      out.push_back(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", u);
      out.append(buf);
    }
  }
  return out;
}

std::string JsonQuote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string RoomListTarget(std::int64_t sdkappid, const std::string& identifier,
                           const std::string& usersig, std::uint32_t random) {
  return std::string(kRoomListPath) + "?sdkappid=" + std::to_string(sdkappid) +
         "&identifier=" + PercentEncode(identifier) +
         "&usersig=" + PercentEncode(usersig) +
         "&random=" + std::to_string(random) + "&contenttype=json";
}

class HttpRoomSource::Impl {
 public:
  explicit Impl(const AppConfig& app)
      : app_(app), client_(app.endpoint), rng_(std::random_device{}()) {
    auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
        app.walk.request_timeout);
    client_.set_connection_timeout(timeout);
    client_.set_read_timeout(timeout);
    client_.set_write_timeout(timeout);
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(
        true);  // small requests: do not wait for delayed ACKs
    client_.set_follow_location(false);
    if (!app.ca_file.empty()) client_.set_ca_cert_path(app.ca_file);
    client_.enable_server_certificate_verification(!app.insecure_skip_verify);
    // httplib's stop() waits for its socket mutex, which it holds while
    // connecting and during the TLS handshake: against an upstream that never
    // answers the SYN or the handshake, a Cancel waited up to request_timeout.
    // Keeping a dup of each new socket lets Cancel shut the connection down
    // itself, which aborts a connect or handshake at once (the dup is ours, so
    // its number is never another socket's). A socket made after Cancel is
    // shut down here, so no Cancel is lost.
    client_.set_socket_options([this](int sock) {
      std::lock_guard<std::mutex> lock(socket_mutex_);
      if (socket_dup_ >= 0) ::close(socket_dup_);
      socket_dup_ = ::dup(sock);
      if (stopped_) ::shutdown(sock, SHUT_RDWR);
    });
  }
  ~Impl() {
    if (socket_dup_ >= 0) ::close(socket_dup_);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  std::string UserSig() {
    if (app_.credential.kind == Credential::Kind::kStaticUserSig)
      return app_.credential.value;
    std::int64_t now = UnixSeconds();
    auto ttl =
        std::chrono::duration_cast<std::chrono::seconds>(app_.walk.usersig_ttl)
            .count();
    // Renew once half the validity has passed: well before the API would call
    // it expired.
    if (usersig_.empty() || now >= minted_at_ + ttl / 2) {
      usersig_ = MintUserSig(app_.credential.value, app_.identifier,
                             app_.sdkappid, now, ttl);
      minted_at_ = now;
    }
    return usersig_;
  }

  void Renew() { usersig_.clear(); }

  DecodeResult Fetch(const std::string& next, int count) {
    DecodeResult out;
    if (stopped_) {
      out.error = {ErrorKind::kNetwork, 0, "canceled", ""};
      return out;
    }
    cancel_reason_ = CancelReason::kNone;
    httplib::Request req;
    req.method = "POST";
    req.path = RoomListTarget(app_.sdkappid, app_.identifier, UserSig(),
                              static_cast<std::uint32_t>(rng_()));
    req.body = "{\"Next\":" + JsonQuote(next) +
               ",\"Count\":" + std::to_string(count) + "}";
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "application/json");
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + app_.walk.request_timeout;
    std::string body;
    req.response_handler = [&](const httplib::Response& res) {
      if (res.has_header("Content-Length") &&
          res.get_header_value<uint64_t>("Content-Length") > kMaxAnswerBytes) {
        cancel_reason_ = CancelReason::kTooLarge;
        return false;
      }
      return true;
    };
    req.content_receiver = [&](const char* data, size_t size, uint64_t,
                               uint64_t) {
      if (body.size() + size > kMaxAnswerBytes) {
        cancel_reason_ = CancelReason::kTooLarge;
        return false;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        cancel_reason_ = CancelReason::kDeadline;
        return false;
      }
      body.append(data, size);
      return true;
    };
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    bool sent = client_.send(req, res, error);
    if (!client_.is_socket_open()) {
      // httplib closed its socket; close the dup too, or the connection would
      // stay open.
      std::lock_guard<std::mutex> lock(socket_mutex_);
      if (socket_dup_ >= 0) ::close(socket_dup_);
      socket_dup_ = -1;
    }
    bool past_deadline = std::chrono::steady_clock::now() >= deadline;
    if (!sent || error != httplib::Error::Success) {
      out.error = TransportError(error, past_deadline);
      return out;
    }
    if (res.status != 200) {
      out.error.kind = ErrorKind::kHttp;
      out.error.code = res.status;
      out.error.message = "HTTP " + std::to_string(res.status);
      return out;
    }
    return DecodeRoomPage(body);
  }

  void Cancel() {
    stopped_ = true;
    cancel_reason_ = CancelReason::kStopped;
    {
      std::lock_guard<std::mutex> lock(socket_mutex_);
      if (socket_dup_ >= 0) ::shutdown(socket_dup_, SHUT_RDWR);
    }
    client_.stop();
  }

 private:
  enum class CancelReason { kNone, kTooLarge, kDeadline, kStopped };

  FetchError TransportError(httplib::Error error, bool past_deadline) const {
    FetchError out;
    out.message = httplib::to_string(error);
    switch (error) {
      case httplib::Error::Canceled:
        if (stopped_) {
          // Fetch resets the reason when it starts; a Cancel in between must
          // still read as one.
          out.kind = ErrorKind::kNetwork;
          out.message = "canceled";
        } else if (cancel_reason_ == CancelReason::kTooLarge) {
          out.kind = ErrorKind::kDecode;
          out.message = "answer larger than " +
                        std::to_string(kMaxAnswerBytes) + " bytes";
        } else if (cancel_reason_ == CancelReason::kDeadline) {
          out.kind = ErrorKind::kTimeout;
          out.message = "no complete answer within request_timeout";
        } else {
          out.kind = ErrorKind::kNetwork;
          out.message = "canceled";
        }
        return out;
      case httplib::Error::SSLConnection:
      case httplib::Error::SSLLoadingCerts:
      case httplib::Error::SSLServerVerification:
        out.kind = ErrorKind::kTls;
        return out;
      case httplib::Error::ConnectionTimeout:
        out.kind = ErrorKind::kTimeout;
        return out;
      case httplib::Error::Read:
        out.kind = past_deadline ? ErrorKind::kTimeout : ErrorKind::kNetwork;
        if (past_deadline) out.message = "no answer within request_timeout";
        return out;
      case httplib::Error::Compression:
        out.kind = ErrorKind::kDecode;
        return out;
      default:
        out.kind = ErrorKind::kNetwork;
        return out;
    }
  }

  const AppConfig app_;
  httplib::Client client_;
  std::mt19937 rng_;
  std::string usersig_;
  std::int64_t minted_at_ = 0;
  std::atomic<CancelReason> cancel_reason_{CancelReason::kNone};
  std::atomic<bool> stopped_{false};
  std::mutex socket_mutex_;
  int socket_dup_ = -1;  // guarded by socket_mutex_
};

HttpRoomSource::HttpRoomSource(const AppConfig& app)
    : impl_(std::make_unique<Impl>(app)) {}
HttpRoomSource::~HttpRoomSource() = default;

DecodeResult HttpRoomSource::FetchPage(const std::string& next, int count) {
  return impl_->Fetch(next, count);
}

void HttpRoomSource::RenewCredential() { impl_->Renew(); }
void HttpRoomSource::Cancel() { impl_->Cancel(); }

}  // namespace tle
