#include "exporter/web/web_server.h"

#include <sys/resource.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "exporter/common/log.h"
#include "exporter/common/text.h"
#include "exporter/config/web_config.h"
#include "exporter/web/internal/basic_auth.h"
#include "exporter/web/internal/connection.h"
#include "exporter/web/internal/connection_registry.h"
#include "exporter/web/internal/http_message.h"
#include "exporter/web/internal/tls_context.h"

namespace tle {

Result<ListenAddress> ParseListenAddress(std::string_view address) {
  const std::string quoted = "\"" + ValidUtf8(address.substr(0, 80)) + "\"";
  const auto malformed = [&quoted](std::string_view why) {
    return Status::Error(quoted + ": " + std::string(why) +
                         " (want host:port, :port or [v6]:port)");
  };
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return malformed("no port");
  std::string_view host = address.substr(0, colon);
  const std::optional<std::uint64_t> port =
      ParseUint64(address.substr(colon + 1));
  if (!port || *port > 65535) return malformed("the port is not 0..65535");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return malformed("an IPv6 host goes in [brackets]");
  }
  return ListenAddress{host.empty() ? "0.0.0.0" : std::string(host),
                       static_cast<int>(*port)};
}

bool AcceptsGzip(const std::string& accept_encoding) {
  std::size_t pos = 0;
  while (pos <= accept_encoding.size()) {
    std::size_t end = accept_encoding.find(',', pos);
    if (end == std::string::npos) end = accept_encoding.size();
    std::string item = accept_encoding.substr(pos, end - pos);
    pos = end + 1;
    std::string token;
    std::string params;
    std::size_t semi = item.find(';');
    token = item.substr(0, semi);
    if (semi != std::string::npos) params = item.substr(semi + 1);
    auto trim = [](std::string s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.erase(0, 1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.pop_back();
      return s;
    };
    token = trim(token);
    for (char& c : token)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (token != "gzip" && token != "*") continue;
    params = trim(params);
    std::size_t q = params.find("q=");
    if (q != std::string::npos) {
      double weight = std::atof(params.c_str() + q + 2);
      if (weight <= 0) continue;
    }
    return true;
  }
  return false;
}

namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr int kIoThreads = 2;
constexpr int kBackendThreads = 4;
constexpr int kBcryptThreads = 2;
constexpr std::size_t kBcryptQueue = 16;
constexpr std::size_t kMaxPathInMessages = 256;
// POST /-/reload requests that arrive while a reload is queued (not yet begun)
// join it and share its answer: it reads the files after each of them came.
// So a flood of reloads runs at most one reload at a time with one queued, and
// holds at most 2 * kMaxReloadWaiters --web.max-requests slots; a request past
// the queued one's waiters is answered 503 at once.
constexpr std::size_t kMaxReloadWaiters = 4;

// What one web config file amounts to.
struct Security {
  std::shared_ptr<net::ssl::context> tls;  // null: plain HTTP
  std::optional<TlsServerConfig> tls_config;
  std::shared_ptr<web::BasicAuth> auth;
};

std::shared_ptr<const Security> LoadSecurity(const std::string& path) {
  auto security = std::make_shared<Security>();
  if (path.empty()) {
    security->auth =
        std::make_shared<web::BasicAuth>(std::map<std::string, std::string>{});
    return security;
  }
  WebConfig config = LoadWebConfigFile(path);
  if (config.tls) {
    try {
      security->tls = web::MakeTlsContext(*config.tls);
    } catch (const std::exception& e) {
      throw ConfigError(path + ": " + e.what());
    }
    for (const std::string& suite : config.tls->cipher_suites) {
      if (IsStaticRsaCipher(suite)) {
        Log(LogLevel::kWarn,
            "tls_server_config.cipher_suites: a suite without forward secrecy "
            "(RSA key exchange) is allowed",
            {{"file", path}, {"cipher_suite", suite}});
      }
    }
    if (config.tls->min_version < TlsVersion::kTls12) {
      Log(LogLevel::kWarn,
          "tls_server_config.min_version below TLS12: OpenSSL's security "
          "level 0 is used for this listener",
          {{"file", path},
           {"min_version", TlsVersionName(config.tls->min_version)}});
    }
    security->tls_config = config.tls;
  }
  security->auth =
      std::make_shared<web::BasicAuth>(std::move(config.basic_auth_users));
  return security;
}

// One request in flight: taken once a request is authorised, given back when
// the last byte of its answer is written and the Response is destroyed.
class Slot {
 public:
  explicit Slot(std::atomic<int>* counter) : counter_(counter) {}
  ~Slot() { --*counter_; }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  std::atomic<int>* counter_;
};

std::string_view PathOf(const std::string& target) {
  std::string_view path(target);
  return path.substr(0, path.find('?'));
}

std::string ForMessages(std::string_view text) {
  return std::string(text.substr(0, kMaxPathInMessages));
}

web::Response MethodNotAllowed(const char* allowed) {
  web::Response response = web::TextResponse(
      405, std::string("Method not allowed; allowed: ") + allowed + "\n");
  response.headers.emplace_back("Allow", allowed);
  return response;
}

std::string BindError(const error_code& ec) {
  if (ec == net::error::address_in_use) return "address already in use";
  return ec.message();
}

// Enough descriptors for max_connections clients plus the exporter's own
// (upstream connections, files); the soft limit is often 1024.
void RaiseOpenFileLimit(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t want = max_connections > 0 ? static_cast<rlim_t>(max_connections) + 256
                                    : limit.rlim_max;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = std::min(want, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

}  // namespace

class WebServer::Impl final : public web::RequestHandler {
 public:
  Impl(WebOptions options, WebBackend& backend)
      : options_(std::move(options)),
        backend_(backend),
        registry_(
            static_cast<std::size_t>(std::max(0, options_.max_connections))) {}

  // clang-tidy finds a throw in Boost.Asio's headers under Stop(); one would
  // end the process either way.
  // NOLINTNEXTLINE(bugprone-exception-escape)
  ~Impl() override { Stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;

  int Start() {
    if (started_) throw std::runtime_error("web server started twice");
    const Result<ListenAddress> address =
        ParseListenAddress(options_.listen_address);
    if (!address.ok()) {
      throw std::runtime_error("--web.listen-address: " +
                               address.status().message());
    }
    const std::string& host = address->host;
    const int port = address->port;
    auto security = LoadSecurity(options_.web_config_file);
    SetSecurity(security);
    tls_ = security->tls != nullptr;
    RaiseOpenFileLimit(options_.max_connections);
    Listen(Endpoint(host, port));
    started_ = true;
    bcrypt_.emplace(kBcryptThreads, kBcryptQueue);
    backend_pool_.emplace(kBackendThreads);
    reload_pool_.emplace(1);
    work_.emplace(net::make_work_guard(io_));
    for (int i = 0; i < kIoThreads; ++i) {
      io_threads_.emplace_back([this] { RunIo(); });
    }
    net::post(acceptor_.get_executor(), [this] { Accept(); });
    Log(LogLevel::kInfo, "listening",
        {{"address", host + ":" + std::to_string(port_)},
         {"telemetry_path", options_.telemetry_path},
         {"tls", tls_},
         {"client_auth_type",
          security->tls_config
              ? ClientAuthTypeName(security->tls_config->client_auth_type)
              : ""},
         {"basic_auth_users", security->auth->users()},
         {"max_requests", options_.max_requests},
         {"max_connections", options_.max_connections}});
    return port_;
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
      error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
    });
    // Idle connections go now; busy ones close after their answer.
    registry_.ShedEvictable();
    if (!registry_.WaitEmpty(std::chrono::seconds(3))) {
      registry_.CloseAll();
      registry_.WaitEmpty(std::chrono::seconds(1));
    }
    bcrypt_->Stop();  // its last checks may still hand requests on
    backend_pool_->join();
    reload_pool_->join();
    work_.reset();
    io_.stop();
    for (std::thread& t : io_threads_) t.join();
    io_threads_.clear();
  }

  int port() const { return port_; }

  void Reload() {
    if (options_.web_config_file.empty()) return;
    auto security = LoadSecurity(options_.web_config_file);
    if (started_ && (security->tls != nullptr) != tls_) {
      throw ConfigError(options_.web_config_file +
                        ": tls_server_config: turning TLS " +
                        (tls_ ? "off" : "on") + " needs a restart");
    }
    SetSecurity(security);
    Log(LogLevel::kInfo, "web config reloaded",
        {{"file", options_.web_config_file},
         {"basic_auth_users", security->auth->users()}});
  }

  // web::RequestHandler, called on a connection's strand.
  void Handle(web::Request request, Reply reply) override {
    std::shared_ptr<const Security> security = GetSecurity();
    if (!security->auth->enabled()) {
      return Authorised(request, std::move(reply));
    }
    std::optional<web::Credentials> credentials =
        web::Credentials::FromHeader(request.authorization);
    Wipe(&request.authorization);
    if (!credentials) return Unauthorised(request, reply);
    if (security->auth->CheckCached(*credentials)) {
      return Authorised(request, std::move(reply));
    }
    // bcrypt, away from the I/O threads, or 503 at once when too many wait.
    struct Pending {
      web::Credentials credentials;
      web::Request request;
      Reply reply;
      std::shared_ptr<const Security> security;
    };
    auto pending = std::make_shared<Pending>(
        Pending{std::move(*credentials), std::move(request), std::move(reply),
                security});
    bool queued = bcrypt_->TrySubmit([this, pending] {
      if (!pending->security->auth->Verify(pending->credentials)) {
        return Unauthorised(pending->request, pending->reply);
      }
      Authorised(pending->request, std::move(pending->reply));
    });
    if (!queued) {
      Log(LogLevel::kDebug, "request refused: too many password checks",
          {{"path", ForMessages(PathOf(pending->request.target))},
           {"remote", pending->request.remote}});
      web::Response busy =
          web::TextResponse(503, "Too many password checks at once, retry\n");
      busy.headers.emplace_back("Retry-After", "1");
      pending->reply(std::move(busy));
    }
  }

  bool stopping() const override { return stopping_; }

 private:
  static void Wipe(std::string* secret) {
    std::fill(secret->begin(), secret->end(), '\0');
    secret->clear();
  }

  std::shared_ptr<const Security> GetSecurity() const {
    std::lock_guard<std::mutex> lock(security_mutex_);
    return security_;
  }
  void SetSecurity(std::shared_ptr<const Security> security) {
    std::lock_guard<std::mutex> lock(security_mutex_);
    security_ = std::move(security);
  }

  tcp::endpoint Endpoint(const std::string& host, int port) {
    auto port_number = static_cast<unsigned short>(port);
    error_code ec;
    net::ip::address address = net::ip::make_address(host, ec);
    if (!ec) return tcp::endpoint(address, port_number);
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      throw std::runtime_error("--web.listen-address: cannot resolve \"" +
                               host + "\": " + ec.message());
    }
    return results.begin()->endpoint();
  }

  // An exclusive listening socket: SO_REUSEADDR (as Asio sets it) only lets a
  // restart bind while old connections linger in TIME_WAIT; on Linux a second
  // listener on the port still fails. No SO_REUSEPORT.
  void Listen(const tcp::endpoint& endpoint) {
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      error_code ignored;
      acceptor_.close(ignored);
      throw std::runtime_error("cannot listen on " + options_.listen_address +
                               ": " + BindError(ec));
    }
    port_ = acceptor_.local_endpoint().port();
  }

  void RunIo() {
    while (true) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        Log(LogLevel::kError, "web server: unexpected error",
            {{"error", e.what()}});
      }
    }
  }

  // On the acceptor's strand.
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_),
                           [this](error_code ec, tcp::socket socket) {
                             Accepted(ec, std::move(socket));
                           });
  }

  void Accepted(error_code ec, tcp::socket socket) {
    if (stopping_ || !acceptor_.is_open()) return;
    if (ec) {
      if (ec == net::error::operation_aborted) return;
      // Out of descriptors or memory: wait a little instead of spinning.
      auto now = std::chrono::steady_clock::now();
      if (now - last_accept_error_log_ > std::chrono::seconds(10)) {
        last_accept_error_log_ = now;
        Log(LogLevel::kWarn, "web server: accept failed",
            {{"error", ec.message()}});
      }
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](error_code timer) {
        if (!timer) Accept();
      });
      return;
    }
    error_code ignored;
    if (!registry_.MakeRoom()) {
      // Every connection is busy: refuse this one before it costs anything.
      socket.set_option(net::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      return Accept();
    }
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote = socket.remote_endpoint(ignored).address().to_string();
    if (tls_) {
      std::make_shared<web::Connection<web::TlsStream>>(
          registry_, *this, std::move(socket), std::move(remote),
          GetSecurity()->tls)
          ->Start();
    } else {
      std::make_shared<web::Connection<web::TcpStream>>(
          registry_, *this, std::move(socket), std::move(remote))
          ->Start();
    }
    Accept();
  }

  void Unauthorised(const web::Request& request, const Reply& reply) {
    Log(LogLevel::kDebug, "request refused: unauthorized",
        {{"path", ForMessages(PathOf(request.target))},
         {"remote", request.remote}});
    web::Response response = web::TextResponse(401, "Unauthorized\n");
    response.headers.emplace_back("WWW-Authenticate",
                                  "Basic realm=\"tencent_live_exporter\"");
    reply(std::move(response));
  }

  std::shared_ptr<void> Acquire() {
    int now = ++in_flight_;
    if (options_.max_requests > 0 && now > options_.max_requests) {
      --in_flight_;
      return nullptr;
    }
    return std::make_shared<Slot>(&in_flight_);
  }

  // Any thread (an I/O thread, or a bcrypt thread after a password check).
  void Authorised(const web::Request& request, Reply reply) {
    std::shared_ptr<void> slot = Acquire();
    if (!slot) {
      Log(LogLevel::kDebug, "request refused: too many in flight",
          {{"path", ForMessages(PathOf(request.target))}});
      return reply(web::TextResponse(
          503, "Too many concurrent requests (--web.max-requests)\n"));
    }
    Reply answer = [slot, reply = std::move(reply)](web::Response response) {
      response.slot = slot;
      reply(std::move(response));
    };
    Route(request, answer);
  }

  void Route(const web::Request& request, const Reply& answer) {
    std::string_view path = PathOf(request.target);
    bool read =
        request.method == http::verb::get || request.method == http::verb::head;
    if (path == options_.telemetry_path) {
      if (!read) return answer(MethodNotAllowed("GET, HEAD"));
      bool gzip = AcceptsGzip(request.accept_encoding);
      return OnBackend(*backend_pool_, path, answer, [this, gzip] {
        web::Response response;
        response.content_type = "text/plain; version=0.0.4; charset=utf-8";
        response.scrape = backend_.Scrape(gzip);
        if (gzip) response.headers.emplace_back("Content-Encoding", "gzip");
        response.headers.emplace_back("Vary", "Accept-Encoding");
        return response;
      });
    }
    if (path == "/") {
      if (!read) return answer(MethodNotAllowed("GET, HEAD"));
      return OnBackend(*backend_pool_, path, answer, [this] {
        web::Response response = web::TextResponse(200, backend_.LandingPage());
        response.content_type = "text/html; charset=utf-8";
        return response;
      });
    }
    if (path == "/-/healthy") {
      if (!read) return answer(MethodNotAllowed("GET, HEAD"));
      return answer(web::TextResponse(200, "Healthy\n"));
    }
    if (path == "/-/ready") {
      if (!read) return answer(MethodNotAllowed("GET, HEAD"));
      return OnBackend(*backend_pool_, path, answer, [this] {
        if (backend_.Ready()) return web::TextResponse(200, "Ready\n");
        return web::TextResponse(
            503, "Not ready: waiting for every app's first complete walk\n");
      });
    }
    if (path == "/-/reload") {
      // Reload changes state, so it is POST only (as in Prometheus).
      if (request.method != http::verb::post) {
        return answer(MethodNotAllowed("POST"));
      }
      return QueueReload(answer);
    }
    answer(web::TextResponse(
        404, "404 page not found: " + ForMessages(path) + "\n"));
  }

  // Runs `make` on `pool` and answers with what it returns.
  template <class Make>
  void OnBackend(net::thread_pool& pool, std::string_view path,
                 const Reply& answer, Make make) {
    net::post(pool, [answer, make, path = ForMessages(path)] {
      answer(Made(path, make));
    });
  }

  // What `make` returns; an exception becomes a 500 and a log line.
  template <class Make>
  static web::Response Made(const std::string& path, Make& make) {
    try {
      return make();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "request failed",
          {{"path", path}, {"error", e.what()}});
      return web::TextResponse(500, "500 internal error\n");
    }
  }

  // POST /-/reload: joins the queued reload, or queues one (kMaxReloadWaiters).
  void QueueReload(const Reply& answer) {
    bool full = false;
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(reload_mutex_);
      full = queued_reload_.size() >= kMaxReloadWaiters;
      if (!full) {
        first = queued_reload_.empty();
        queued_reload_.push_back(answer);
      }
    }
    if (full) {
      return answer(web::TextResponse(
          503, "Too many reloads waiting; try again when one has finished\n"));
    }
    if (!first) return;  // the reload already queued answers it too
    net::post(*reload_pool_, [this] {
      std::vector<Reply> waiters;
      {
        std::lock_guard<std::mutex> lock(reload_mutex_);
        waiters.swap(queued_reload_);
      }
      auto reload = [this] {
        const Status reloaded = backend_.Reload();
        if (reloaded.ok()) return web::TextResponse(200, "Reloaded\n");
        return web::TextResponse(
            500, "Reload failed, keeping the previous config: " +
                     reloaded.message() + "\n");
      };
      const web::Response response = Made("/-/reload", reload);
      for (const Reply& waiter : waiters) waiter(response);
    });
  }

  const WebOptions options_;
  WebBackend& backend_;
  mutable std::mutex security_mutex_;
  std::mutex reload_mutex_;
  // The answers of the reload queued on reload_pool_, not yet begun; empty
  // when none is queued. GUARDED_BY(reload_mutex_)
  std::vector<Reply> queued_reload_;
  std::shared_ptr<const Security> security_;  // GUARDED_BY(security_mutex_)
  bool tls_ = false;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  int port_ = -1;
  // Declared before io_: connections left in io_'s queues unregister and give
  // their slots back when io_ is destroyed.
  web::ConnectionRegistry registry_;
  std::optional<web::BcryptPool> bcrypt_;
  net::io_context io_{kIoThreads};
  tcp::acceptor acceptor_{net::make_strand(io_)};
  net::steady_timer accept_retry_{acceptor_.get_executor()};
  std::chrono::steady_clock::time_point last_accept_error_log_{};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<net::thread_pool> backend_pool_;
  std::optional<net::thread_pool> reload_pool_;
  std::vector<std::thread> io_threads_;
};

WebServer::WebServer(WebOptions options, WebBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}
// NOLINTNEXTLINE(bugprone-exception-escape): as ~Impl.
WebServer::~WebServer() { Stop(); }
int WebServer::Start() { return impl_->Start(); }
void WebServer::Stop() { impl_->Stop(); }
int WebServer::port() const { return impl_->port(); }
void WebServer::ReloadWebConfig() { impl_->Reload(); }

}  // namespace tle
