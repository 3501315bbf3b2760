// WebServer with a web config file, end to end over loopback: TLS serving,
// client certificates, basic auth (and its cache), --web.max-requests counting
// streamed answers, and web config reloads. Certificates are made with the
// openssl command at test time.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "exporter/config/config.h"
#include "exporter/web/web_server.h"
#include "tests/support/bcrypt_hash.h"

namespace tle {
namespace {

namespace fs = std::filesystem;

// A temporary folder with a CA, a server certificate for 127.0.0.1, a client
// certificate from that CA and one from another CA.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/tle_websec_XXXXXX";
    dir_ = mkdtemp(tmpl);
    Run("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt "
        "-days 2 -subj /CN=tle-test-ca");
    Run("openssl req -x509 -newkey rsa:2048 -nodes -keyout other_ca.key -out "
        "other_ca.crt -days 2 -subj /CN=tle-other-ca");
    Run("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext");
    Run("openssl req -newkey rsa:2048 -nodes -keyout server.key -out "
        "server.csr -subj /CN=localhost");
    Run("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
        "-CAcreateserial -out server.crt -days 2 -extfile server.ext");
    Run("openssl req -newkey rsa:2048 -nodes -keyout client.key -out "
        "client.csr -subj /CN=tle-client");
    Run("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key "
        "-CAcreateserial -out client.crt -days 2");
    Run("openssl req -newkey rsa:2048 -nodes -keyout stranger.key -out "
        "stranger.csr -subj /CN=tle-stranger");
    Run("openssl x509 -req -in stranger.csr -CA other_ca.crt -CAkey "
        "other_ca.key -CAcreateserial -out stranger.crt -days 2");
  }
  ~Pki() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string Path(const std::string& name) const {
    return (fs::path(dir_) / name).string();
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
  }

 private:
  void Run(const std::string& command) const {
    std::string full = "cd '" + dir_ + "' && " + command + " >/dev/null 2>&1";
    INFO(full);
    REQUIRE(std::system(full.c_str()) == 0);
  }
  std::string dir_;
};

using testing::BcryptHash;

// A backend whose scrape can be held open or made large.
class FakeBackend final : public WebBackend {
 public:
  ScrapeBody Scrape(bool) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++scrapes_in_progress_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hold_; });
    --scrapes_in_progress_;
    ScrapeBody body;
    body.tail = body_;
    return body;
  }
  std::string LandingPage() override { return "<html>landing</html>"; }
  bool Ready() override { return true; }
  Status Reload() override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++reloads_started_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hold_reload_; });
    return Status::Ok();
  }
  void HoldReload(bool hold) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_reload_ = hold;
    changed_.notify_all();
  }
  bool WaitForReloads(int n) {
    return WaitFor([&] { return reloads_started_ >= n; });
  }
  int ReloadsStarted() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reloads_started_;
  }

  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = hold;
    changed_.notify_all();
  }
  bool WaitForScrapes(int n) {
    return WaitFor([&] { return scrapes_in_progress_ >= n; });
  }
  int Held() {
    std::lock_guard<std::mutex> lock(mutex_);
    return scrapes_in_progress_;
  }
  void SetBody(std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = std::move(body);
  }

 private:
  // Up to 10 s for `done` (called under mutex_) to hold.
  template <class Done>
  bool WaitFor(Done done) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), done);
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_ = false;
  bool hold_reload_ = false;
  int reloads_started_ = 0;
  int scrapes_in_progress_ = 0;
  std::string body_ = "tencent_live_up{sdkappid=\"1\"} 1\n";
};

WebOptions Options(const std::string& web_config_file, int max_requests = 40) {
  WebOptions options;
  options.listen_address = "127.0.0.1:0";
  options.web_config_file = web_config_file;
  options.max_requests = max_requests;
  return options;
}

std::unique_ptr<httplib::SSLClient> TlsClient(const Pki& pki, int port,
                                              const std::string& cert = "",
                                              const std::string& key = "") {
  auto client = cert.empty()
                    ? std::make_unique<httplib::SSLClient>("localhost", port)
                    : std::make_unique<httplib::SSLClient>(
                          "127.0.0.1", port, pki.Path(cert), pki.Path(key));
  client->set_ca_cert_path(pki.Path("ca.crt").c_str());
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(5);
  client->set_read_timeout(5);
  return client;
}

// Status of a GET over HTTPS by curl (httplib's own client of this version
// fails to check hosts when it presents a client certificate); -1 when the
// TLS handshake or connection failed.
int CurlStatus(const Pki& pki, int port, const std::string& cert = "",
               const std::string& key = "", const std::string& user = "") {
  std::string command =
      "curl -s -o /dev/null -w '%{http_code}' --max-time 10 "
      "--cacert '" +
      pki.Path("ca.crt") + "'";
  if (!cert.empty()) {
    command += " --cert '" + pki.Path(cert) + "' --key '" + pki.Path(key) + "'";
  }
  if (!user.empty()) command += " -u '" + user + "'";
  command += " https://localhost:" + std::to_string(port) + "/metrics";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"),
                                             &pclose);
  REQUIRE(pipe);
  char buf[16] = {};
  std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, pipe.get());
  int status = std::atoi(std::string(buf, n).c_str());
  return status == 0 ? -1 : status;
}

int HttpStatus(const httplib::Result& result) {
  if (!result)
    UNSCOPED_INFO("request failed: " << httplib::to_string(result.error()));
  return result ? result->status : -1;
}

// One HTTPS request with OpenSSL's client API, optionally resuming `session`.
struct TlsResult {
  bool ok = false;      // handshake and a 200 answer
  bool reused = false;  // the session was resumed
  std::shared_ptr<SSL_SESSION> session;
};

TlsResult TlsGet(const Pki& pki, int port, int max_version,
                 const std::shared_ptr<SSL_SESSION>& session,
                 const std::string& cert = "", const std::string& key = "") {
  TlsResult result;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(
      SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  REQUIRE(ctx);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  REQUIRE(SSL_CTX_load_verify_file(ctx.get(), pki.Path("ca.crt").c_str()) == 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (!cert.empty()) {
    REQUIRE(SSL_CTX_use_certificate_file(ctx.get(), pki.Path(cert).c_str(),
                                         SSL_FILETYPE_PEM) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey_file(ctx.get(), pki.Path(key).c_str(),
                                        SSL_FILETYPE_PEM) == 1);
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout,
             static_cast<socklen_t>(sizeof(timeout)));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  char host[] = "localhost";  // SSL_set_tlsext_host_name, without its C cast
  SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           host);
  SSL_set1_host(ssl.get(), "localhost");
  if (session) SSL_set_session(ssl.get(), session.get());
  if (SSL_connect(ssl.get()) == 1) {
    const std::string request =
        "GET /-/healthy HTTP/1.1\r\nHost: localhost\r\nConnection: "
        "close\r\n\r\n";
    SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
    std::string answer;
    char buf[4096];
    int n = 0;
    while ((n = SSL_read(ssl.get(), buf, sizeof(buf))) > 0) {
      answer.append(buf, static_cast<std::size_t>(n));
    }
    result.ok = answer.rfind("HTTP/1.1 200", 0) == 0;
    result.reused = SSL_session_reused(ssl.get()) == 1;
    result.session.reset(SSL_get1_session(ssl.get()), &SSL_SESSION_free);
    SSL_shutdown(ssl.get());  // else OpenSSL marks the session not resumable
  }
  ERR_clear_error();
  close(fd);
  return result;
}

// openssl s_client's exit status for one handshake with these options.
bool Handshakes(const Pki& pki, int port, const std::string& options) {
  std::string command =
      "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
      " -CAfile " + pki.Path("ca.crt") + " -verify_return_error " + options +
      " </dev/null >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

}  // namespace

TEST_CASE("TLS serving with the web config's certificate", "[integration]") {
  Pki pki;
  pki.Write("web.yml",
            "tls_server_config:\n  cert_file: server.crt\n  key_file: "
            "server.key\n");
  FakeBackend backend;
  WebServer server(Options(pki.Path("web.yml")), backend);
  int port = server.Start();

  auto client = TlsClient(pki, port);
  auto res = client->Get("/metrics");
  INFO("verify result " << client->get_openssl_verify_result());
  REQUIRE(HttpStatus(res) == 200);
  CHECK(res->body.find("tencent_live_up") != std::string::npos);
  CHECK(HttpStatus(client->Get("/-/healthy")) == 200);

  SECTION("plain HTTP to the TLS port gets no answer") {
    httplib::Client plain("127.0.0.1", port);
    plain.set_read_timeout(3);
    CHECK(HttpStatus(plain.Get("/metrics")) != 200);
  }
  SECTION("a client that does not trust the CA is refused") {
    httplib::SSLClient stranger("localhost", port);
    stranger.set_ca_cert_path(pki.Path("other_ca.crt").c_str());
    stranger.enable_server_certificate_verification(true);
    CHECK(HttpStatus(stranger.Get("/metrics")) == -1);
  }
  SECTION("TLS 1.1 is refused, TLS 1.2 is served") {
    const std::string s_client =
        "openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
        " -CAfile " + pki.Path("ca.crt") +
        " -verify_return_error -cipher DEFAULT@SECLEVEL=0";
    CHECK(std::system(
              (s_client + " -tls1_2 </dev/null >/dev/null 2>&1").c_str()) == 0);
    CHECK(std::system(
              (s_client + " -tls1_1 </dev/null >/dev/null 2>&1").c_str()) != 0);
  }
}

TEST_CASE("RequireAndVerifyClientCert wants a certificate from client_ca_file",
          "[integration]") {
  Pki pki;
  pki.Write("web.yml",
            "tls_server_config:\n  cert_file: server.crt\n  key_file: "
            "server.key\n  client_ca_file: ca.crt\n  client_auth_type: "
            "RequireAndVerifyClientCert\n");
  FakeBackend backend;
  WebServer server(Options(pki.Path("web.yml")), backend);
  int port = server.Start();

  CHECK(CurlStatus(pki, port, "client.crt", "client.key") == 200);
  CHECK(CurlStatus(pki, port) == -1);
  CHECK(HttpStatus(TlsClient(pki, port)->Get("/metrics")) == -1);
  CHECK(CurlStatus(pki, port, "stranger.crt", "stranger.key") == -1);
}

TEST_CASE("VerifyClientCertIfGiven and RequireAnyClientCert", "[integration]") {
  Pki pki;
  FakeBackend backend;
  SECTION("VerifyClientCertIfGiven: none is fine, a stranger is not") {
    pki.Write("web.yml",
              "tls_server_config:\n  cert_file: server.crt\n  key_file: "
              "server.key\n  client_ca_file: ca.crt\n  client_auth_type: "
              "VerifyClientCertIfGiven\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(CurlStatus(pki, port) == 200);
    CHECK(CurlStatus(pki, port, "client.crt", "client.key") == 200);
    CHECK(CurlStatus(pki, port, "stranger.crt", "stranger.key") == -1);
  }
  SECTION("RequireAnyClientCert: any certificate, but one is needed") {
    pki.Write("web.yml",
              "tls_server_config:\n  cert_file: server.crt\n  key_file: "
              "server.key\n  client_auth_type: RequireAnyClientCert\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(CurlStatus(pki, port) == -1);
    CHECK(CurlStatus(pki, port, "stranger.crt", "stranger.key") == 200);
  }
}

TEST_CASE("A bad web config stops the start with a clear error",
          "[integration]") {
  Pki pki;
  FakeBackend backend;
  SECTION("key does not match the certificate") {
    pki.Write("web.yml",
              "tls_server_config:\n  cert_file: server.crt\n  key_file: "
              "client.key\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    REQUIRE_THROWS_WITH(server.Start(), Catch::Contains("key_file") &&
                                            Catch::Contains("does not match"));
  }
  SECTION("missing certificate file") {
    pki.Write("web.yml",
              "tls_server_config:\n  cert_file: nope.crt\n  key_file: "
              "server.key\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    REQUIRE_THROWS_WITH(server.Start(), Catch::Contains("cert_file") &&
                                            Catch::Contains("nope.crt"));
  }
  SECTION("unknown key, with file, line and column") {
    pki.Write("web.yml", "basic_auth_users:\n  a: b\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    REQUIRE_THROWS_WITH(server.Start(),
                        Catch::Contains("web.yml:2:6: basic_auth_users.a"));
  }
}

TEST_CASE("Basic auth: right, wrong and unknown user; verified ones cached",
          "[integration]") {
  Pki pki;
  pki.Write("web.yml", "basic_auth_users:\n  alice: " +
                           BcryptHash("open sesame", 10) + "\n");
  FakeBackend backend;
  WebServer server(Options(pki.Path("web.yml")), backend);
  int port = server.Start();
  httplib::Client client("127.0.0.1", port);

  auto none = client.Get("/metrics");
  REQUIRE(HttpStatus(none) == 401);
  CHECK(none->get_header_value("WWW-Authenticate").rfind("Basic", 0) == 0);
  CHECK(HttpStatus(client.Get("/-/healthy")) == 401);

  // The cache and the equal cost of a wrong password and an unknown user are
  // counted in BasicAuth's unit tests (web_server_test.cc); their timings are
  // figure 7 of the benchmarks (bench/basic_auth.py), not a check here.
  client.set_basic_auth("alice", "open sesame");
  for (int i = 0; i < 3; ++i) CHECK(HttpStatus(client.Get("/metrics")) == 200);
  CHECK(HttpStatus(client.Get("/-/healthy")) == 200);

  for (int i = 0; i < 2; ++i) {
    client.set_basic_auth("alice", "open sesamE");
    auto wrong = client.Get("/metrics");
    REQUIRE(HttpStatus(wrong) == 401);
    CHECK(wrong->has_header("WWW-Authenticate"));
    client.set_basic_auth("mallory", "open sesame");
    CHECK(HttpStatus(client.Get("/metrics")) == 401);
  }
  client.set_basic_auth("alice", "");
  CHECK(HttpStatus(client.Get("/metrics")) == 401);
  // A wrong password did not displace the verified one.
  client.set_basic_auth("alice", "open sesame");
  CHECK(HttpStatus(client.Get("/metrics")) == 200);
}

TEST_CASE("--web.max-requests answers 503 at once past the limit",
          "[integration]") {
  FakeBackend backend;
  SECTION("requests held in the handler count") {
    WebServer server(Options("", 2), backend);
    int port = server.Start();
    backend.Hold(true);
    auto slow = [port] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(20);
      return HttpStatus(c.Get("/metrics"));
    };
    auto a = std::async(std::launch::async, slow);
    auto b = std::async(std::launch::async, slow);
    REQUIRE(backend.WaitForScrapes(2));
    // Both answers come while the two held requests are still held: a
    // request queued behind them would wait until Hold(false) below, and
    // this client gives up long before the held ones' 20 s.
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5);
    CHECK(HttpStatus(c.Get("/metrics")) == 503);
    CHECK(HttpStatus(c.Get("/-/healthy")) == 503);
    CHECK(backend.Held() == 2);
    backend.Hold(false);
    CHECK(a.get() == 200);
    CHECK(b.get() == 200);
    CHECK(HttpStatus(c.Get("/-/healthy")) == 200);
  }
  SECTION("a body still being streamed counts until its last byte") {
    backend.SetBody(std::string(64u << 20, 'x'));  // far past socket buffers
    WebServer server(Options("", 1), backend);
    int port = server.Start();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    const std::string request =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    REQUIRE(write(fd, request.data(), request.size()) ==
            static_cast<ssize_t>(request.size()));
    char buf[1024];
    // The answer has started; 64 MiB cannot fit in the socket buffers of a
    // reader that reads no more, so it is still being streamed below.
    REQUIRE(read(fd, buf, sizeof(buf)) > 0);
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5);
    CHECK(HttpStatus(c.Get("/-/healthy")) == 503);
    close(fd);  // the stream ends; its slot is given back
    int status = 0;
    for (int i = 0; i < 100 && status != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      status = HttpStatus(c.Get("/-/healthy"));
    }
    CHECK(status == 200);
  }
}

TEST_CASE("a flood of reloads shares queued reloads and leaves scrapes slots",
          "[integration]") {
  FakeBackend backend;
  WebServer server(Options("", 12), backend);
  const int port = server.Start();
  auto reload = [port] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(20);
    auto res = c.Post("/-/reload");
    return res ? std::make_pair(res->status, res->body)
               : std::make_pair(-1, std::string());
  };
  backend.HoldReload(true);
  auto running = std::async(std::launch::async, reload);
  REQUIRE(backend.WaitForReloads(1));  // one reload runs, held

  // Ten more while it runs: four wait for the one queued after it, six are
  // refused at once (each of those answers before the held reload ends).
  std::vector<std::future<std::pair<int, std::string>>> more;
  for (int i = 0; i < 10; ++i) {
    more.push_back(std::async(std::launch::async, reload));
  }
  // Six refusals mean four joined the queued reload (only then is one
  // refused); those four stay unanswered while the first reload is held.
  std::vector<std::future<std::pair<int, std::string>>> waiting;
  int refused = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (refused < 6 && std::chrono::steady_clock::now() < deadline) {
    for (auto it = more.begin(); it != more.end();) {
      if (it->wait_for(std::chrono::milliseconds(10)) !=
          std::future_status::ready) {
        ++it;
        continue;
      }
      const auto [status, body] = it->get();
      CHECK(status == 503);
      CHECK(body.find("Too many reloads waiting") != std::string::npos);
      ++refused;
      it = more.erase(it);
    }
  }
  REQUIRE(refused == 6);
  waiting = std::move(more);
  REQUIRE(waiting.size() == 4);
  for (auto& f : waiting) {
    CHECK(f.wait_for(std::chrono::milliseconds(0)) !=
          std::future_status::ready);
  }

  // With 5 of the 12 slots held by reloads, a scrape is served.
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5);
  CHECK(HttpStatus(c.Get("/metrics")) == 200);
  CHECK(backend.ReloadsStarted() == 1);

  backend.HoldReload(false);
  CHECK(running.get().first == 200);
  for (auto& f : waiting) CHECK(f.get().first == 200);
  // The four shared one reload, begun after each of them arrived.
  CHECK(backend.ReloadsStarted() == 2);
}

TEST_CASE("TLS sessions resume in every client auth mode, until a reload",
          "[integration]") {
  Pki pki;
  FakeBackend backend;
  struct Mode {
    const char* type;
    bool ca;
    bool cert;
  };
  for (Mode mode : {Mode{"NoClientCert", false, false},
                    Mode{"RequestClientCert", false, true},
                    Mode{"RequireAnyClientCert", false, true},
                    Mode{"VerifyClientCertIfGiven", true, true},
                    Mode{"RequireAndVerifyClientCert", true, true}}) {
    std::string web =
        "tls_server_config:\n  cert_file: server.crt\n"
        "  key_file: server.key\n  client_auth_type: " +
        std::string(mode.type) + "\n";
    if (mode.ca) web += "  client_ca_file: ca.crt\n";
    pki.Write("web.yml", web);
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    std::string cert = mode.cert ? "client.crt" : "";
    std::string key = mode.cert ? "client.key" : "";
    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      INFO(mode.type << " TLS version " << std::hex << version);
      TlsResult first = TlsGet(pki, port, version, nullptr, cert, key);
      REQUIRE(first.ok);
      CHECK(!first.reused);
      TlsResult again = TlsGet(pki, port, version, first.session, cert, key);
      CHECK(again.ok);
      CHECK(again.reused);
      server.ReloadWebConfig();  // the same file: still a new context
      TlsResult after = TlsGet(pki, port, version, again.session, cert, key);
      CHECK(after.ok);
      CHECK(!after.reused);
    }
  }
}

TEST_CASE("TLS settings: versions, cipher suites, curves", "[integration]") {
  Pki pki;
  FakeBackend backend;
  const std::string base =
      "tls_server_config:\n  cert_file: server.crt\n  key_file: "
      "server.key\n";
  SECTION("defaults: TLS 1.2 and 1.3, forward-secret suites only") {
    pki.Write("web.yml", base);
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(Handshakes(pki, port, "-tls1_3"));
    CHECK(Handshakes(pki, port, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"));
    CHECK(Handshakes(pki, port, "-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305"));
    // Static RSA key exchange, and finite-field DHE, are not offered.
    CHECK(!Handshakes(pki, port, "-tls1_2 -cipher AES128-GCM-SHA256"));
    CHECK(!Handshakes(pki, port, "-tls1_2 -cipher AES256-SHA"));
    CHECK(!Handshakes(pki, port, "-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256"));
    CHECK(!Handshakes(pki, port, "-tls1_1 -cipher DEFAULT@SECLEVEL=0"));
    CHECK(Handshakes(pki, port, "-tls1_3 -groups X25519"));
    CHECK(Handshakes(pki, port, "-tls1_3 -groups P-521"));
    CHECK(!Handshakes(pki, port, "-tls1_3 -groups ffdhe2048"));
  }
  SECTION("min_version, max_version") {
    pki.Write("web.yml", base + "  min_version: TLS13\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(Handshakes(pki, port, "-tls1_3"));
    CHECK(!Handshakes(pki, port, "-tls1_2"));
    pki.Write("web.yml", base + "  max_version: TLS12\n");
    server.ReloadWebConfig();
    CHECK(!Handshakes(pki, port, "-tls1_3"));
    CHECK(Handshakes(pki, port, "-tls1_2"));
    pki.Write("web.yml", base + "  min_version: TLS10\n");
    server.ReloadWebConfig();
    CHECK(Handshakes(pki, port, "-tls1 -cipher DEFAULT@SECLEVEL=0"));
  }
  SECTION("cipher_suites by Go name, in the server's order") {
    pki.Write("web.yml", base +
                             "  cipher_suites:\n"
                             "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
                             "    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n"
                             "    - TLS_RSA_WITH_AES_128_GCM_SHA256\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(Handshakes(pki, port, "-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384"));
    CHECK(Handshakes(pki, port, "-tls1_2 -cipher ECDHE-RSA-AES128-SHA"));
    CHECK(Handshakes(pki, port, "-tls1_2 -cipher AES128-GCM-SHA256"));  // named
    CHECK(
        !Handshakes(pki, port, "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"));
    CHECK(Handshakes(pki, port, "-tls1_3"));  // TLS 1.3 suites are fixed
  }
  SECTION("curve_preferences") {
    pki.Write("web.yml", base + "  curve_preferences: [CurveP384]\n");
    WebServer server(Options(pki.Path("web.yml")), backend);
    int port = server.Start();
    CHECK(Handshakes(pki, port, "-tls1_3 -groups P-384"));
    CHECK(!Handshakes(pki, port, "-tls1_3 -groups X25519"));
    CHECK(!Handshakes(pki, port, "-tls1_2 -groups P-256"));
  }
}

TEST_CASE("Reloading the web config", "[integration]") {
  Pki pki;
  pki.Write("web.yml",
            "tls_server_config:\n  cert_file: server.crt\n  key_file: "
            "server.key\nbasic_auth_users:\n  alice: " +
                BcryptHash("one", 4) + "\n");
  FakeBackend backend;
  WebServer server(Options(pki.Path("web.yml")), backend);
  int port = server.Start();
  auto client = TlsClient(pki, port);
  client->set_basic_auth("alice", "one");
  REQUIRE(HttpStatus(client->Get("/metrics")) == 200);

  SECTION("a good file changes users and client auth for new requests") {
    pki.Write("web.yml",
              "tls_server_config:\n  cert_file: server.crt\n  key_file: "
              "server.key\n  client_ca_file: ca.crt\n  client_auth_type: "
              "RequireAndVerifyClientCert\nbasic_auth_users:\n  bob: " +
                  BcryptHash("two", 4) + "\n");
    server.ReloadWebConfig();
    CHECK(CurlStatus(pki, port, "client.crt", "client.key", "alice:one") ==
          401);
    CHECK(CurlStatus(pki, port, "client.crt", "client.key", "bob:two") == 200);
    CHECK(CurlStatus(pki, port, "", "", "bob:two") == -1);
  }
  SECTION("a bad file is refused and the old one stays") {
    pki.Write("web.yml", "basic_auth_users:\n  alice: not-a-hash\n");
    CHECK_THROWS_WITH(server.ReloadWebConfig(), Catch::Contains("web.yml:2"));
    pki.Write("web.yml",
              "basic_auth_users:\n  alice: " + BcryptHash("one", 4) + "\n");
    CHECK_THROWS_WITH(server.ReloadWebConfig(), Catch::Contains("restart"));
    auto again = TlsClient(pki, port);
    again->set_basic_auth("alice", "one");
    CHECK(HttpStatus(again->Get("/metrics")) == 200);
  }
}

}  // namespace tle
