// WebServer: the exporter's HTTP endpoints, served asynchronously with
// Boost.Beast.
//
//   /                 landing page (HTML)
//   <telemetry path>  the exposition, gzip when the scraper accepts it
//   /-/healthy        200 while the process serves
//   /-/ready          200 once every app has a snapshot, else 503
//   /-/reload         POST (with or without a body): re-read the config (200,
//                     or 500 with the reason; the old one stays)
// Paths match literally (the query string is ignored); anything else is a 404,
// another method on a known path a 405 naming the allowed ones. There are no
// Range requests: every answer is the whole body with 200.
//
// A few I/O threads serve every connection; a connection is a state machine
// with a deadline per phase (TLS handshake, the whole request, the answer) and
// the request limits of exporter/web/internal/http_message.h, enforced while
// parsing. More than max_requests requests at once (counted from the parsed,
// authorised request until the last byte of its answer is written) get 503 at
// once. At max_connections open connections, a new one displaces the one that
// has waited longest for its request, or is closed at once when every
// connection is busy with a request. Backend calls run on a small pool of
// their own threads, Reload() on one more, so a slow scrape or reload never
// stalls the I/O threads. Reload requests that arrive while a reload is
// queued join it and get its answer; past 4 waiting, 503 at once: a flood of
// POST /-/reload runs one reload at a time and takes at most 8 request slots.
//
// With a web config file (exporter-toolkit format, see
// exporter/config/web_config.h) it serves HTTPS and/or demands HTTP basic auth
// against bcrypt hashes; bcrypt runs on two threads of its own with a bounded
// queue (full: 503 at once), and verified credentials are cached (as a keyed
// SHA-256, never the plaintext). ReloadWebConfig() swaps a new file in for new
// connections and requests; TLS sessions from before a reload do not resume.
//
// The server owns its listening socket and threads; the WebBackend must
// outlive it. Start/Stop from one thread; ReloadWebConfig from any thread; the
// backend is called from the server's backend threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "exporter/common/status.h"
#include "exporter/metrics/exposition_cache.h"

namespace tle {

class WebBackend {
 public:
  virtual ~WebBackend() = default;
  virtual ScrapeBody Scrape(bool gzip) = 0;
  virtual std::string LandingPage() = 0;  // HTML
  virtual bool Ready() = 0;
  // Re-reads the config; an error says why it was refused (the old one
  // stays).
  virtual Status Reload() = 0;
};

struct WebOptions {
  std::string listen_address = ":9877";
  std::string telemetry_path = "/metrics";
  int max_requests = 40;        // 0: no limit
  int max_connections = 512;    // 0: no limit
  std::string web_config_file;  // exporter-toolkit web config (TLS, basic
                                // auth); empty = none
};

struct ListenAddress {
  std::string host;  // "0.0.0.0" for all interfaces; an IPv6 host unbracketed
  int port = 0;      // 0..65535; 0 picks a free one
};

// Splits "host:port", ":port" or "[v6]:port"; an error says what is wrong. An
// empty host means all interfaces ("0.0.0.0").
Result<ListenAddress> ParseListenAddress(std::string_view address);

// True when an Accept-Encoding header value admits gzip (and does not give it
// q=0).
bool AcceptsGzip(const std::string& accept_encoding);

class WebServer {
 public:
  WebServer(WebOptions options, WebBackend& backend);
  ~WebServer();  // stops. NOLINT(bugprone-exception-escape): see the .cc
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;
  WebServer(WebServer&&) = delete;
  WebServer& operator=(WebServer&&) = delete;

  // Binds (exclusively: a port in use fails with "address already in use")
  // and starts serving on threads of its own; throws std::runtime_error when it
  // cannot bind or the web config is bad. Returns the bound port.
  int Start();
  void Stop();  // stops accepting, finishes requests in flight; idempotent
  int port() const;

  // Re-reads options.web_config_file (a no-op without one). On a bad file
  // throws ConfigError / std::runtime_error and keeps the current one; turning
  // TLS on or off needs a restart and is refused. Certificates, client auth
  // and users of a good file apply to new connections and requests.
  void ReloadWebConfig();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tle
