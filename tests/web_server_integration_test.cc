// WebServer over plain HTTP, byte for byte over loopback sockets: what it
// answers (no Range, literal paths, methods, HEAD, pipelining, bodies that are
// never read as requests, POST /-/reload without a body), the limits it
// enforces while parsing (431, 413, 400), its deadlines, --web.max-connections
// and the exclusive listening socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "exporter/web/web_server.h"

namespace tle {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A backend with a known body, counters, and a scrape that can be held.
class CountingBackend final : public WebBackend {
 public:
  ScrapeBody Scrape(bool) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++scrapes_;
    ++held_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !hold_; });
    --held_;
    if (fail_) throw std::runtime_error("scrape broke");
    ScrapeBody body;
    body.head = "# head\n";
    body.tail = "tencent_live_up{sdkappid=\"1\"} 1\n";
    return body;
  }
  std::string LandingPage() override { return "<html>landing</html>"; }
  bool Ready() override { return true; }
  Status Reload() override {
    ++reloads_;
    return Status::Ok();
  }

  void Hold(bool hold) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = hold;
    changed_.notify_all();
  }
  bool WaitHeld(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10),
                             [&] { return held_ >= n; });
  }
  void Fail() { fail_ = true; }
  int reloads() const { return reloads_; }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_ = false;
  int held_ = 0;
  int scrapes_ = 0;
  std::atomic<bool> fail_{false};
  std::atomic<int> reloads_{0};
};

const std::string kBody = "# head\ntencent_live_up{sdkappid=\"1\"} 1\n";

// One client connection with a raw socket.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
            0);
  }
  ~Conn() { close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // False when the server closed or reset the connection.
  bool Send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n =
          send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads until the server closes (or `timeout` passes); closed() tells which.
  std::string ReadAll(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::string out;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - Clock::now());
      if (poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0)
        continue;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Reads until `count` whole answers (by Content-Length) have arrived.
  std::string ReadAnswers(int count, std::chrono::milliseconds timeout =
                                         std::chrono::milliseconds(5000)) {
    std::string out;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && Complete(out) < count) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }
  int fd() const { return fd_; }

  static int Complete(const std::string& text) {
    int count = 0;
    std::size_t pos = 0;
    while (true) {
      std::size_t end = text.find("\r\n\r\n", pos);
      if (end == std::string::npos) return count;
      std::size_t cl = text.find("Content-Length: ", pos);
      if (cl == std::string::npos || cl > end) return count;
      std::size_t length = std::stoul(text.substr(cl + 16));
      if (text.size() < end + 4 + length) return count;
      pos = end + 4 + length;
      ++count;
    }
  }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

int StatusOf(const std::string& answer) {
  if (answer.rfind("HTTP/1.1 ", 0) != 0) return -1;
  return std::stoi(answer.substr(9, 3));
}

std::string BodyOf(const std::string& answer) {
  std::size_t end = answer.find("\r\n\r\n");
  return end == std::string::npos ? "" : answer.substr(end + 4);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + 1)) {
    ++n;
  }
  return n;
}

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

// One request on a new connection, "Connection: close"; the whole answer.
std::string Once(int port, const std::string& request) {
  Conn c(port);
  REQUIRE(c.Send(request));
  return c.ReadAll();
}

struct Server {
  explicit Server(WebOptions options = {}) {
    options.listen_address = "127.0.0.1:0";
    server = std::make_unique<WebServer>(options, backend);
    port = server->Start();
  }
  CountingBackend backend;
  std::unique_ptr<WebServer> server;
  int port = 0;
};

}  // namespace

TEST_CASE("answers: whole bodies, literal paths, methods", "[integration]") {
  WebOptions options;
  options.telemetry_path = "/m.trics";
  Server s(options);
  const std::string close = "Connection: close\r\n";

  SECTION("a Range is ignored: 200 and the whole body") {
    for (const char* range :
         {"bytes=50000000-50000100", "bytes=0-1", "bytes=-5"}) {
      std::string answer = Once(
          s.port,
          Get("/m.trics", std::string("Range: ") + range + "\r\n" + close));
      CHECK(StatusOf(answer) == 200);
      CHECK(BodyOf(answer) == kBody);
      CHECK(answer.find("Content-Range") == std::string::npos);
    }
    std::string ranges = "bytes=0-0";
    for (int i = 1; i < 900; ++i)
      ranges += "," + std::to_string(i) + "-" + std::to_string(i);
    std::string answer =
        Once(s.port, Get("/m.trics", "Range: " + ranges + "\r\n" + close));
    CHECK(StatusOf(answer) == 200);
    CHECK(BodyOf(answer) == kBody);
  }
  SECTION(
      "the telemetry path is a string, not a pattern; queries are ignored") {
    CHECK(StatusOf(Once(s.port, Get("/m.trics", close))) == 200);
    CHECK(StatusOf(Once(s.port, Get("/m.trics?x=1", close))) == 200);
    CHECK(StatusOf(Once(s.port, Get("/mXtrics", close))) == 404);
    CHECK(StatusOf(Once(s.port, Get("/m.trics/", close))) == 404);
    CHECK(StatusOf(Once(s.port, Get("//", close))) == 404);
    CHECK(StatusOf(Once(s.port, Get("/-/healthy", close))) == 200);
    CHECK(StatusOf(Once(s.port, Get("/-/ready", close))) == 200);
    std::string landing = Once(s.port, Get("/", close));
    CHECK(StatusOf(landing) == 200);
    CHECK(landing.find("Content-Type: text/html") != std::string::npos);
    std::string missing = Once(s.port, Get("/nope", close));
    CHECK(StatusOf(missing) == 404);
    CHECK(BodyOf(missing) == "404 page not found: /nope\n");
  }
  SECTION("methods: 405 names the allowed ones; HEAD has no body") {
    std::string post =
        Once(s.port, "POST /m.trics HTTP/1.1\r\nHost: t\r\n" + close + "\r\n");
    CHECK(StatusOf(post) == 405);
    CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
    for (const char* method : {"GET", "PUT", "DELETE", "HEAD"}) {
      std::string answer = Once(s.port, std::string(method) +
                                            " /-/reload HTTP/1.1\r\nHost: "
                                            "t\r\n" +
                                            close + "\r\n");
      CHECK(StatusOf(answer) == 405);
      CHECK(answer.find("Allow: POST\r\n") != std::string::npos);
    }
    std::string head =
        Once(s.port, "HEAD /m.trics HTTP/1.1\r\nHost: t\r\n" + close + "\r\n");
    CHECK(StatusOf(head) == 200);
    CHECK(head.find("Content-Length: " + std::to_string(kBody.size())) !=
          std::string::npos);
    CHECK(BodyOf(head).empty());
    CHECK(s.backend.reloads() == 0);
  }
  SECTION("gzip is announced when accepted") {
    std::string answer =
        Once(s.port, Get("/m.trics", "Accept-Encoding: gzip\r\n" + close));
    CHECK(answer.find("Content-Encoding: gzip") != std::string::npos);
    CHECK(answer.find("Vary: Accept-Encoding") != std::string::npos);
  }
  SECTION("a backend that throws gives 500") {
    s.backend.Fail();
    CHECK(StatusOf(Once(s.port, Get("/m.trics", close))) == 500);
    CHECK(StatusOf(Once(s.port, Get("/-/healthy", close))) == 200);
  }
}

TEST_CASE("POST /-/reload with or without a body, at once", "[integration]") {
  Server s;
  auto start = Clock::now();
  std::string bare = Once(s.port,
                          "POST /-/reload HTTP/1.1\r\nHost: t\r\nConnection: "
                          "close\r\n\r\n");
  CHECK(StatusOf(bare) == 200);
  CHECK(BodyOf(bare) == "Reloaded\n");
  CHECK(SecondsSince(start) < 1.0);
  std::string with_body =
      Once(s.port,
           "POST /-/reload HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
           "3\r\n\r\na=b");
  CHECK(StatusOf(with_body) == 200);
  CHECK(s.backend.reloads() == 2);

  SECTION("Expect: 100-continue gets its interim answer") {
    Conn c(s.port);
    REQUIRE(
        c.Send("POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: "
               "4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
    pollfd p{c.fd(), POLLIN, 0};
    REQUIRE(poll(&p, 1, 2000) == 1);
    char buf[64];
    ssize_t n = recv(c.fd(), buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    CHECK(std::string(buf, static_cast<std::size_t>(n))
              .rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    REQUIRE(c.Send("body"));
    std::string rest = c.ReadAll();
    CHECK(rest.find("200 OK") != std::string::npos);
  }
}

TEST_CASE("pipelined requests are answered in order; bodies are never requests",
          "[integration]") {
  Server s;
  SECTION("three at once, answered in order on one connection") {
    Conn c(s.port);
    REQUIRE(c.Send(Get("/-/healthy") + Get("/nope") + Get("/metrics")));
    std::string answers = c.ReadAnswers(3);
    REQUIRE(Conn::Complete(answers) == 3);
    std::size_t a = answers.find("200 OK");
    std::size_t b = answers.find("404 Not Found");
    std::size_t m = answers.find("tencent_live_up");
    CHECK(a < b);
    CHECK(b < m);
    CHECK(!c.closed());
  }
  SECTION("a GET's body holding a POST /-/reload is read and thrown away") {
    const std::string smuggled =
        "POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    Conn c(s.port);
    REQUIRE(c.Send("GET /-/healthy HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                   std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled +
                   Get("/-/healthy", "Connection: close\r\n")));
    std::string answers = c.ReadAll();
    CHECK(Count(answers, "HTTP/1.1 200 OK") == 2);
    CHECK(answers.find("Reloaded") == std::string::npos);
    CHECK(s.backend.reloads() == 0);
  }
  SECTION("the same in a chunked body") {
    Conn c(s.port);
    const std::string smuggled = "POST /-/reload HTTP/1.1\r\nHost: t\r\n\r\n";
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", smuggled.size());
    REQUIRE(
        c.Send("GET /-/healthy HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
               "chunked\r\n\r\n" +
               std::string(size) + "\r\n" + smuggled + "\r\n0\r\n\r\n" +
               Get("/-/healthy", "Connection: close\r\n")));
    std::string answers = c.ReadAll();
    CHECK(Count(answers, "HTTP/1.1 200 OK") == 2);
    CHECK(s.backend.reloads() == 0);
  }
}

TEST_CASE("limits are enforced while parsing", "[integration]") {
  Server s;
  SECTION("too many header fields: 431, closed") {
    std::string request = "GET /metrics HTTP/1.1\r\n";
    for (int i = 0; i < 100; ++i) request += "a:b\r\n";
    Conn c(s.port);
    c.Send(request + "\r\n");
    std::string answer = c.ReadAll();
    CHECK(StatusOf(answer) == 431);
    CHECK(c.closed());
  }
  SECTION("a header over 8 KiB: 431, before the end of it arrives") {
    Conn c(s.port);
    c.Send("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'a'));
    std::string answer = c.ReadAll();
    CHECK(StatusOf(answer) == 431);
    CHECK(c.closed());
  }
  SECTION("a request line without an end: 431") {
    Conn c(s.port);
    c.Send("GET /" + std::string(20000, 'a'));
    CHECK(StatusOf(c.ReadAll()) == 431);
    CHECK(c.closed());
  }
  SECTION("a body over 64 KiB: 413 from its Content-Length") {
    Conn c(s.port);
    c.Send(
        "POST /-/reload HTTP/1.1\r\nHost: t\r\nContent-Length: "
        "100000\r\n\r\n");
    CHECK(StatusOf(c.ReadAll()) == 413);
    CHECK(c.closed());
    CHECK(s.backend.reloads() == 0);
  }
  SECTION("a chunked body over 64 KiB: 413") {
    Conn c(s.port);
    std::string chunk =
        std::string("4000\r\n") + std::string(0x4000, 'x') + "\r\n";
    std::string request =
        "POST /-/reload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
        "chunked\r\n\r\n";
    for (int i = 0; i < 5; ++i) request += chunk;
    c.Send(request);
    CHECK(StatusOf(c.ReadAll()) == 413);
    CHECK(s.backend.reloads() == 0);
  }
  SECTION("garbage: 400") {
    Conn c(s.port);
    c.Send("GARBAGE\r\n\r\n");
    CHECK(StatusOf(c.ReadAll()) == 400);
    CHECK(c.closed());
  }
  SECTION("the server still serves") {
    CHECK(StatusOf(Once(s.port, Get("/metrics", "Connection: close\r\n"))) ==
          200);
  }
}

TEST_CASE("deadlines: idle keep-alive and a slow request are closed",
          "[integration][slow]") {
  Server s;
  SECTION("an idle connection closes after about 5 s") {
    Conn c(s.port);
    REQUIRE(c.Send(Get("/-/healthy")));
    REQUIRE(Conn::Complete(c.ReadAnswers(1)) == 1);
    auto start = Clock::now();
    c.ReadAll(std::chrono::milliseconds(9000));
    CHECK(c.closed());
    CHECK(SecondsSince(start) > 4.0);
    CHECK(SecondsSince(start) < 7.0);
  }
  SECTION("a request dripped one header line a second ends at 10 s") {
    Conn c(s.port);
    auto start = Clock::now();
    REQUIRE(c.Send("GET /metrics HTTP/1.1\r\n"));
    bool open = true;
    for (int i = 0; i < 15 && open; ++i) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      open = c.Send("X-" + std::to_string(i) + ": y\r\n");
      if (open) {
        pollfd p{c.fd(), POLLIN, 0};
        open = poll(&p, 1, 0) == 0;
      }
    }
    double took = SecondsSince(start);
    CHECK(!open);
    CHECK(took > 9.0);
    CHECK(took < 12.5);
  }
}

TEST_CASE("--web.max-connections sheds the longest waiting, refuses when busy",
          "[integration]") {
  WebOptions options;
  options.max_connections = 4;
  options.max_requests = 0;
  Server s(options);
  SECTION("four idle connections: a fifth displaces the oldest") {
    std::vector<std::unique_ptr<Conn>> idle;
    for (int i = 0; i < 4; ++i) {
      idle.push_back(std::make_unique<Conn>(s.port));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string answer =
        Once(s.port, Get("/-/healthy", "Connection: close\r\n"));
    CHECK(StatusOf(answer) == 200);
    idle[0]->ReadAll(std::chrono::milliseconds(2000));
    CHECK(idle[0]->closed());
    idle[3]->ReadAll(std::chrono::milliseconds(100));
    CHECK(!idle[3]->closed());
  }
  SECTION("four busy connections: a fifth is closed at once") {
    s.backend.Hold(true);
    std::vector<std::unique_ptr<Conn>> busy;
    for (int i = 0; i < 4; ++i) {
      busy.push_back(std::make_unique<Conn>(s.port));
      REQUIRE(busy.back()->Send(Get("/metrics")));
    }
    REQUIRE(s.backend.WaitHeld(4));
    Conn fifth(s.port);
    fifth.Send(Get("/-/healthy"));
    auto start = Clock::now();
    std::string answer = fifth.ReadAll(std::chrono::milliseconds(3000));
    CHECK(answer.empty());
    CHECK(fifth.closed());
    CHECK(SecondsSince(start) < 1.0);
    s.backend.Hold(false);
    for (auto& c : busy) CHECK(StatusOf(c->ReadAnswers(1)) == 200);
  }
}

TEST_CASE("the listening socket is exclusive", "[integration]") {
  Server first;
  CountingBackend backend;
  WebOptions options;
  options.listen_address = "127.0.0.1:" + std::to_string(first.port);
  WebServer second(options, backend);
  REQUIRE_THROWS_WITH(second.Start(),
                      Catch::Contains("address already in use") &&
                          Catch::Contains(options.listen_address));
  WebOptions any;
  any.listen_address = ":" + std::to_string(first.port);  // 0.0.0.0
  WebServer third(any, backend);
  REQUIRE_THROWS_WITH(third.Start(), Catch::Contains("address already in use"));
  CHECK(StatusOf(Once(first.port,
                      Get("/-/healthy", "Connection: close\r\n"))) == 200);
}

TEST_CASE("Stop() with idle and busy connections returns promptly",
          "[integration]") {
  auto s = std::make_unique<Server>();
  std::vector<std::unique_ptr<Conn>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::make_unique<Conn>(s->port));
  Conn keep(s->port);
  REQUIRE(keep.Send(Get("/-/healthy")));
  REQUIRE(Conn::Complete(keep.ReadAnswers(1)) == 1);
  auto start = Clock::now();
  s->server->Stop();
  CHECK(SecondsSince(start) < 1.0);
  keep.ReadAll(std::chrono::milliseconds(1000));
  CHECK(keep.closed());
}

}  // namespace tle
