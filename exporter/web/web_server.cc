#include "exporter/web/web_server.h"

#include <crypt.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "exporter/common/base64.h"
#include "exporter/common/log.h"
#include "exporter/config/web_config.h"

namespace tle {

bool ParseListenAddress(const std::string& address, std::string* host,
                        int* port) {
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = address.substr(0, colon);
  std::string p = address.substr(colon + 1);
  if (p.empty() || p.size() > 5) return false;
  for (char c : p) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  int value = std::stoi(p);
  if (value > 65535) return false;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  if (h.find(':') != std::string::npos && address.front() != '[') return false;
  *host = h.empty() ? "0.0.0.0" : h;
  *port = value;
  return true;
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

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Certificates and keys of one tls_server_config, loaded into OpenSSL.
// Immutable once built; shared by the handshakes that use it.
class TlsMaterial {
 public:
  explicit TlsMaterial(const TlsServerConfig& config) : config_(config) {
    try {
      Load(config);
    } catch (...) {
      Free();  // the destructor does not run when a constructor throws
      throw;
    }
  }
  ~TlsMaterial() { Free(); }
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;

  const TlsServerConfig& config() const { return config_; }

  // Sets this material on one connection (called from the ClientHello
  // callback, before version negotiation and certificate selection).
  bool ApplyTo(SSL* ssl) const {
    if (SSL_use_cert_and_key(ssl, cert_, key_, chain_, 1) != 1) return false;
    SSL_set_min_proto_version(
        ssl, config_.tls13_minimum ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_set_verify(ssl, VerifyMode(), VerifyCallback());
    if (store_ != nullptr) {
      if (SSL_set1_verify_cert_store(ssl, store_) != 1) return false;
      STACK_OF(X509_NAME)* names = SSL_dup_CA_list(ca_names_);
      if (names != nullptr) SSL_set_client_CA_list(ssl, names);
    }
    return true;
  }

 private:
  int VerifyMode() const {
    switch (config_.client_auth_type) {
      case ClientAuthType::kNoClientCert:
        return SSL_VERIFY_NONE;
      case ClientAuthType::kRequestClientCert:
      case ClientAuthType::kVerifyClientCertIfGiven:
        return SSL_VERIFY_PEER;
      case ClientAuthType::kRequireAnyClientCert:
      case ClientAuthType::kRequireAndVerifyClientCert:
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    return SSL_VERIFY_NONE;
  }
  // The two types that ask for a certificate without checking it accept any.
  SSL_verify_cb VerifyCallback() const {
    bool any =
        config_.client_auth_type == ClientAuthType::kRequestClientCert ||
        config_.client_auth_type == ClientAuthType::kRequireAnyClientCert;
    return any ? AcceptAny : nullptr;
  }

  void Load(const TlsServerConfig& config) {
    std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
        BIO_new_file(config.cert_file.c_str(), "r"), &BIO_free);
    if (!cert_bio) Fail("cert_file", config.cert_file);
    cert_ = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr);
    if (cert_ == nullptr) Fail("cert_file", config.cert_file);
    chain_ = sk_X509_new_null();
    while (X509* extra =
               PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
      sk_X509_push(chain_, extra);
    }
    ERR_clear_error();  // the end of the file reads as an error
    std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
        BIO_new_file(config.key_file.c_str(), "r"), &BIO_free);
    if (!key_bio) Fail("key_file", config.key_file);
    key_ = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
    if (key_ == nullptr) Fail("key_file", config.key_file);
    if (X509_check_private_key(cert_, key_) != 1) {
      Fail("key_file", config.key_file + " (does not match cert_file)");
    }
    if (!config.client_ca_file.empty()) {
      store_ = X509_STORE_new();
      if (X509_STORE_load_file(store_, config.client_ca_file.c_str()) != 1) {
        Fail("client_ca_file", config.client_ca_file);
      }
      ca_names_ = SSL_load_client_CA_file(config.client_ca_file.c_str());
      if (ca_names_ == nullptr) Fail("client_ca_file", config.client_ca_file);
    }
  }
  void Free() {
    if (cert_ != nullptr) X509_free(cert_);
    if (chain_ != nullptr) sk_X509_pop_free(chain_, X509_free);
    if (key_ != nullptr) EVP_PKEY_free(key_);
    if (store_ != nullptr) X509_STORE_free(store_);
    if (ca_names_ != nullptr) sk_X509_NAME_pop_free(ca_names_, X509_NAME_free);
    cert_ = nullptr;
    chain_ = nullptr;
    key_ = nullptr;
    store_ = nullptr;
    ca_names_ = nullptr;
  }

  [[noreturn]] static void Fail(const char* key, const std::string& path) {
    throw std::runtime_error("tls_server_config." + std::string(key) +
                             ": cannot load " + path + ": " + OpenSslError());
  }
  static int AcceptAny(int, X509_STORE_CTX*) { return 1; }

  TlsServerConfig config_;
  X509* cert_ = nullptr;
  STACK_OF(X509) * chain_ = nullptr;
  EVP_PKEY* key_ = nullptr;
  X509_STORE* store_ = nullptr;
  STACK_OF(X509_NAME) * ca_names_ = nullptr;
};

using Digest = std::array<unsigned char, 32>;

// Runs bcrypt; false when libxcrypt refuses the setting.
bool Bcrypt(const std::string& password, const std::string& setting,
            std::string* out) {
  auto data = std::make_unique<crypt_data>();
  const char* result = crypt_r(password.c_str(), setting.c_str(), data.get());
  bool ok = result != nullptr && result[0] != '*';
  if (ok) *out = result;
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

// The basic_auth_users of one web config, with the cache of credentials
// verified against them. Thread-safe.
class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users)
      : users_(std::move(users)) {
    if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1) {
      throw std::runtime_error("basic_auth_users: no random bytes");
    }
    // An unknown user is checked against this hash, with the highest cost in
    // the file, so it takes as long as a wrong password.
    int cost = 4;
    for (const auto& [user, hash] : users_) {
      cost = std::max(cost, (hash[4] - '0') * 10 + (hash[5] - '0'));
    }
    if (users_.empty()) return;
    std::array<unsigned char, 16> random{};
    RAND_bytes(random.data(), static_cast<int>(random.size()));
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    if (crypt_gensalt_rn("$2y$", static_cast<unsigned long>(cost),
                         reinterpret_cast<const char*>(random.data()),
                         static_cast<int>(random.size()), setting,
                         sizeof(setting)) == nullptr ||
        !Bcrypt("tle-dummy-password", setting, &dummy_hash_)) {
      throw std::runtime_error("basic_auth_users: bcrypt is not available");
    }
  }

  bool enabled() const { return !users_.empty(); }

  // Checks an Authorization header value. Costs one bcrypt unless the
  // credentials were verified before.
  bool Check(const std::string& header) {
    static const std::string kPrefix = "Basic ";
    if (header.size() <= kPrefix.size() ||
        strncasecmp(header.c_str(), kPrefix.c_str(), kPrefix.size()) != 0) {
      return false;
    }
    std::string decoded =
        Base64Decode(std::string_view(header).substr(kPrefix.size()))
            .value_or("");
    std::size_t colon = decoded.find(':');
    if (colon == std::string::npos) {
      OPENSSL_cleanse(decoded.data(), decoded.size());
      return false;
    }
    std::string user = decoded.substr(0, colon);
    std::string password = decoded.substr(colon + 1);
    OPENSSL_cleanse(decoded.data(), decoded.size());
    bool verified = Verify(user, password);
    OPENSSL_cleanse(password.data(), password.size());
    return verified;
  }

 private:
  Digest Key(const std::string& user, const std::string& password) const {
    std::string message = user;
    message.push_back('\0');
    message += password;
    Digest digest{};
    unsigned int length = 0;
    HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(),
         digest.data(), &length);
    OPENSSL_cleanse(message.data(), message.size());
    return digest;
  }

  bool Verify(const std::string& user, const std::string& password) {
    auto found = users_.find(user);
    if (found == users_.end()) {
      std::string ignored;
      Bcrypt(password, dummy_hash_, &ignored);
      return false;
    }
    Digest key = Key(user, password);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto cached = cache_.find(user);
      if (cached != cache_.end() &&
          CRYPTO_memcmp(cached->second.data(), key.data(), key.size()) == 0) {
        return true;
      }
    }
    std::string computed;
    const std::string& stored = found->second;
    bool match =
        Bcrypt(password, stored, &computed) &&
        computed.size() == stored.size() &&
        CRYPTO_memcmp(computed.data(), stored.data(), stored.size()) == 0;
    if (match) {
      std::lock_guard<std::mutex> lock(mutex_);
      cache_[user] = key;  // one entry per configured user at most
    }
    return match;
  }

  const std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::array<unsigned char, 32> hmac_key_{};
  std::mutex mutex_;
  std::map<std::string, Digest> cache_;  // user -> keyed digest of the
                                         // password last verified
};

// What one web config file amounts to.
struct Security {
  std::shared_ptr<const TlsMaterial> tls;  // null: plain HTTP
  std::shared_ptr<BasicAuth> auth;
  std::size_t users = 0;
};

std::shared_ptr<const Security> LoadSecurity(const std::string& path) {
  auto security = std::make_shared<Security>();
  if (path.empty()) {
    security->auth =
        std::make_shared<BasicAuth>(std::map<std::string, std::string>{});
    return security;
  }
  WebConfig config = LoadWebConfigFile(path);
  if (config.tls) {
    try {
      security->tls = std::make_shared<const TlsMaterial>(*config.tls);
    } catch (const std::exception& e) {
      throw ConfigError(path + ": " + e.what());
    }
  }
  security->users = config.basic_auth_users.size();
  security->auth =
      std::make_shared<BasicAuth>(std::move(config.basic_auth_users));
  return security;
}

}  // namespace

class WebServer::Impl {
 public:
  Impl(WebOptions options, WebBackend& backend)
      : options_(std::move(options)), backend_(backend) {}

  int Start() {
    std::string host;
    int port = 0;
    if (!ParseListenAddress(options_.listen_address, &host, &port)) {
      throw std::runtime_error("--web.listen-address: cannot parse \"" +
                               options_.listen_address +
                               "\" (want host:port or :port)");
    }
    auto security = LoadSecurity(options_.web_config_file);
    SetSecurity(security);
    if (security->tls) {
      tls_ = true;
      auto server = std::make_unique<httplib::SSLServer>(
          [this](SSL_CTX& ctx) { return SetupContext(&ctx); });
      if (!server->is_valid()) {
        throw std::runtime_error("cannot set up TLS: " + OpenSslError());
      }
      server_ = std::move(server);
    } else {
      server_ = std::make_unique<httplib::Server>();
    }
    Routes();
    if (port == 0) {
      port_ = server_->bind_to_any_port(host);
    } else {
      port_ = server_->bind_to_port(host, port) ? port : -1;
    }
    if (port_ < 0) {
      throw std::runtime_error("cannot listen on " + options_.listen_address);
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Log(LogLevel::kInfo, "listening",
        {{"address", host + ":" + std::to_string(port_)},
         {"telemetry_path", options_.telemetry_path},
         {"tls", tls_},
         {"client_auth_type",
          security->tls
              ? ClientAuthTypeName(security->tls->config().client_auth_type)
              : ""},
         {"basic_auth_users", security->users}});
    return port_;
  }

  void Stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }

  void Reload() {
    if (options_.web_config_file.empty()) return;
    auto security = LoadSecurity(options_.web_config_file);
    if (server_ && (security->tls != nullptr) != tls_) {
      throw ConfigError(options_.web_config_file +
                        ": tls_server_config: turning TLS " +
                        (tls_ ? "off" : "on") + " needs a restart");
    }
    SetSecurity(security);
    Log(LogLevel::kInfo, "web config reloaded",
        {{"file", options_.web_config_file},
         {"basic_auth_users", security->users}});
  }

 private:
  // One request in flight: taken before routing, given back when the answer
  // (streamed or not) has been written and the Response is destroyed.
  class Slot {
   public:
    explicit Slot(std::atomic<int>* counter) : counter_(counter) {}
    ~Slot() { --*counter_; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::atomic<int>* counter_;
  };

  std::shared_ptr<Slot> Acquire() {
    int now = ++in_flight_;
    if (options_.max_requests > 0 && now > options_.max_requests) {
      --in_flight_;
      return nullptr;
    }
    return std::make_shared<Slot>(&in_flight_);
  }

  std::shared_ptr<const Security> GetSecurity() const {
    std::lock_guard<std::mutex> lock(security_mutex_);
    return security_;
  }
  void SetSecurity(std::shared_ptr<const Security> security) {
    std::lock_guard<std::mutex> lock(security_mutex_);
    security_ = std::move(security);
  }

  bool SetupContext(SSL_CTX* ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
                                 SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION |
                                 SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_client_hello_cb(ctx, &Impl::OnClientHello, this);
    return true;
  }

  // Every handshake takes the certificates and client auth of the web config
  // current at that moment, so a reload needs no new listening socket.
  static int OnClientHello(SSL* ssl, int* alert, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    auto security = self->GetSecurity();
    if (!security->tls || !security->tls->ApplyTo(ssl)) {
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
  }

  void Routes() {
    // Enough workers that requests past --web.max-requests are answered 503
    // instead of queueing behind the ones in flight.
    std::size_t workers =
        options_.max_requests > 0
            ? static_cast<std::size_t>(options_.max_requests) + 8
            : 64;
    server_->new_task_queue = [workers] {
      return new httplib::ThreadPool(workers);
    };
    server_->set_keep_alive_max_count(100);
    server_->set_keep_alive_timeout(2);
    // Headers and body go out in separate send()s: with Nagle on, the body of
    // a small response waits for the scraper's delayed ACK (~40 ms).
    server_->set_tcp_nodelay(true);
    server_->set_payload_max_length(1 << 16);
    server_->set_pre_routing_handler([this](const httplib::Request& req,
                                            httplib::Response& res) {
      std::shared_ptr<Slot> slot = Acquire();
      if (!slot) {
        res.status = 503;
        res.set_content("Too many concurrent requests (--web.max-requests)\n",
                        "text/plain");
        Log(LogLevel::kDebug, "request refused: too many in flight",
            {{"path", req.path}});
        return httplib::Server::HandlerResponse::Handled;
      }
      // Released with the Response, after the last byte was written.
      res.content_provider_resource_releaser_ = [slot](bool) {};
      auto security = GetSecurity();
      if (security->auth->enabled() &&
          !security->auth->Check(req.get_header_value("Authorization"))) {
        res.status = 401;
        res.set_header("WWW-Authenticate",
                       "Basic realm=\"tencent_live_exporter\"");
        res.set_content("Unauthorized\n", "text/plain; charset=utf-8");
        Log(LogLevel::kDebug, "request refused: unauthorized",
            {{"path", req.path}, {"remote", req.remote_addr}});
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_->Get(options_.telemetry_path,
                 [this](const httplib::Request& req, httplib::Response& res) {
                   Metrics(req, res);
                 });
    server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(backend_.LandingPage(), "text/html; charset=utf-8");
    });
    server_->Get("/-/healthy",
                 [](const httplib::Request&, httplib::Response& res) {
                   res.set_content("Healthy\n", "text/plain; charset=utf-8");
                 });
    server_->Get(
        "/-/ready", [this](const httplib::Request&, httplib::Response& res) {
          if (backend_.Ready()) {
            res.set_content("Ready\n", "text/plain; charset=utf-8");
          } else {
            res.status = 503;
            res.set_content(
                "Not ready: waiting for every app's first complete walk\n",
                "text/plain; charset=utf-8");
          }
        });
    server_->Post(
        "/-/reload", [this](const httplib::Request&, httplib::Response& res) {
          std::string error = backend_.Reload();
          if (error.empty()) {
            res.set_content("Reloaded\n", "text/plain; charset=utf-8");
          } else {
            res.status = 500;
            res.set_content(
                "Reload failed, keeping the previous config: " + error + "\n",
                "text/plain; charset=utf-8");
          }
        });
    // Reload changes state, so it is POST only (as in Prometheus); say so.
    server_->Get("/-/reload",
                 [](const httplib::Request&, httplib::Response& res) {
                   res.status = 405;
                   res.set_header("Allow", "POST");
                   res.set_content("Only POST requests allowed\n",
                                   "text/plain; charset=utf-8");
                 });
    server_->set_error_handler(
        [](const httplib::Request& req, httplib::Response& res) {
          if (res.status == 404) {
            res.set_content("404 page not found: " + req.path + "\n",
                            "text/plain; charset=utf-8");
          } else if (res.body.empty()) {
            res.set_content(std::to_string(res.status) + "\n",
                            "text/plain; charset=utf-8");
          }
        });
    server_->set_exception_handler([](const httplib::Request& req,
                                      httplib::Response& res,
                                      std::exception_ptr ep) {
      std::string what = "unknown";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      Log(LogLevel::kError, "request failed",
          {{"path", req.path}, {"error", what}});
      res.status = 500;
      res.set_content("500 internal error\n", "text/plain; charset=utf-8");
    });
  }

  void Metrics(const httplib::Request& req, httplib::Response& res) {
    // The request's slot stays taken until the streamed body is written.
    auto slot = std::move(res.content_provider_resource_releaser_);
    bool gzip = AcceptsGzip(req.get_header_value("Accept-Encoding"));
    auto body = std::make_shared<ScrapeBody>(backend_.Scrape(gzip));
    if (gzip) res.set_header("Content-Encoding", "gzip");
    res.set_header("Vary", "Accept-Encoding");
    std::size_t size = body->size();
    // The shared bytes are written straight from the snapshot's memory: no
    // per-request copy.
    res.set_content_provider(
        size, "text/plain; version=0.0.4; charset=utf-8",
        [body](std::size_t offset, std::size_t length,
               httplib::DataSink& sink) {
          constexpr std::size_t kChunk = 1 << 20;
          bool ok = true;
          body->Read(offset, std::min(length, kChunk),
                     [&](const char* data, std::size_t n) {
                       ok = ok && sink.write(data, n);
                     });
          return ok;
        },
        [body, slot](bool) {});
  }

  WebOptions options_;
  WebBackend& backend_;
  std::unique_ptr<httplib::Server> server_;
  bool tls_ = false;
  std::thread thread_;
  int port_ = -1;
  std::atomic<int> in_flight_{0};
  mutable std::mutex security_mutex_;
  std::shared_ptr<const Security> security_;
};

WebServer::WebServer(WebOptions options, WebBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}
WebServer::~WebServer() { Stop(); }
int WebServer::Start() { return impl_->Start(); }
void WebServer::Stop() { impl_->Stop(); }
int WebServer::port() const { return impl_->port(); }
void WebServer::ReloadWebConfig() { impl_->Reload(); }

}  // namespace tle
