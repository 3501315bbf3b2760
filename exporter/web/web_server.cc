#include "exporter/web/web_server.h"

#include <httplib.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "exporter/common/log.h"

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
    server_ = std::make_unique<httplib::Server>();
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
         {"telemetry_path", options_.telemetry_path}});
    return port_;
  }

  void Stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  int port() const { return port_; }

 private:
  // Counts a request in flight for as long as it lives (including the sending
  // of a streamed body).
  struct InFlight {
    explicit InFlight(std::atomic<int>* counter) : counter_(counter) {
      ++*counter_;
    }
    ~InFlight() { --*counter_; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    std::atomic<int>* counter_;
  };

  void Routes() {
    server_->set_keep_alive_max_count(100);
    server_->set_payload_max_length(1 << 16);
    server_->set_pre_routing_handler([this](const httplib::Request&,
                                            httplib::Response& res) {
      if (options_.max_requests > 0 &&
          in_flight_.load() >= options_.max_requests) {
        res.status = 503;
        res.set_content("Too many concurrent requests (--web.max-requests)\n",
                        "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server_->Get(options_.telemetry_path,
                 [this](const httplib::Request& req, httplib::Response& res) {
                   Metrics(req, res);
                 });
    server_->Get("/", [this](const httplib::Request&, httplib::Response& res) {
      InFlight guard(&in_flight_);
      res.set_content(backend_.LandingPage(), "text/html; charset=utf-8");
    });
    server_->Get("/-/healthy",
                 [this](const httplib::Request&, httplib::Response& res) {
                   InFlight guard(&in_flight_);
                   res.set_content("Healthy\n", "text/plain; charset=utf-8");
                 });
    server_->Get(
        "/-/ready", [this](const httplib::Request&, httplib::Response& res) {
          InFlight guard(&in_flight_);
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
          InFlight guard(&in_flight_);
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
    auto guard = std::make_shared<InFlight>(&in_flight_);
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
        [body, guard](bool) {});
  }

  WebOptions options_;
  WebBackend& backend_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = -1;
  std::atomic<int> in_flight_{0};
};

WebServer::WebServer(WebOptions options, WebBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(options), backend)) {}
WebServer::~WebServer() { Stop(); }
int WebServer::Start() { return impl_->Start(); }
void WebServer::Stop() { impl_->Stop(); }
int WebServer::port() const { return impl_->port(); }

}  // namespace tle
