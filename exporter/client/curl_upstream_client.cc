// The real UpstreamClient, on libcurl's multi interface (see upstream_client.h
// for the contract).
//
// One I/O thread per client runs curl_multi_poll over every request in flight.
// Send puts a request on a queue (under mutex_) and wakes the thread with
// curl_multi_wakeup; the thread moves queued requests into the multi handle,
// and when one ends removes it, turns curl's result into an ApiResponse and
// calls its `done`. The multi handle's connection cache keeps up to
// max_connections keep-alive connections to the endpoint, so sequential
// requests reuse one connection and concurrent ones get their own.
//
// Decisions:
// - One deadline per request: CURLOPT_TIMEOUT_MS = request_timeout covers
//   waiting for a free connection, connecting, TLS, sending, the headers (also
//   when dripped a byte at a time, and any number of `100 Continue` blocks)
//   and the body. CURLOPT_CONNECTTIMEOUT_MS is the same value: connecting has
//   no shorter budget of its own.
// - Header bytes of every block (1xx included) count against kMaxHeaderBytes;
//   one line over kMaxHeaderLineBytes (a status line of 50,000 bytes) or all
//   lines over kMaxHeaderBytes fail the request as kDecode. curl refuses a
//   single line over 100 KiB by itself before our callback sees it; that is
//   kDecode too.
// - The body is counted as it streams: one byte over kMaxAnswerBytes aborts
//   the transfer (kDecode "answer larger than 8 MiB"); a Content-Length over
//   it is refused before the body is read (CURLOPT_MAXFILESIZE_LARGE).
// - No redirects (CURLOPT_FOLLOWLOCATION 0): a 3xx is kHttp with its status,
//   and the message shows the Location (cut, cleaned) for the operator.
// - Proxies: curl reads https_proxy/HTTPS_PROXY, all_proxy/ALL_PROXY and
//   no_proxy/NO_PROXY itself, but for http:// URLs only the lower-case
//   http_proxy (a CGI precaution). The exporter is no CGI program, and Go
//   programs (Prometheus and its exporters) honour HTTP_PROXY, so for an
//   http:// endpoint without http_proxy, HTTP_PROXY is passed as
//   CURLOPT_PROXY; NO_PROXY still applies to it.
// - Messages: "<api> <endpoint>: <curl's error buffer>", plus request_timeout
//   for timeouts and the ca_file (or "system CA store") for TLS failures. The
//   URL's query (with the UserSig) is never part of one: curl's messages name
//   host and port only, and any text holding the UserSig is scrubbed anyway.
// - Name lookups run on curl's resolver threads and count against the same
//   deadline; CURLOPT_QUICK_EXIT lets a request end without joining a lookup
//   that is still blocked in getaddrinfo (the thread finishes by itself).
// - Cancel is final: what is queued or in flight fails at once with kNetwork
//   "cancelled", and so does every later Send.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exporter/client/upstream_client.h"
#include "exporter/client/usersig.h"
#include "exporter/common/clock.h"
#include "exporter/common/version.h"
#include "exporter/decoder/room_page_decoder.h"

namespace tle {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::int64_t UnixSeconds() {
  return static_cast<std::int64_t>(RealClock().NowUnix());
}

long Milliseconds(Duration d) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<long>(std::clamp<std::int64_t>(ms, 1, 24 * 3600 * 1000));
}

// curl_global_init is not thread-safe in every libcurl build: run it once,
// before the first client's handles exist.
void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' ||
                           text.front() == '\r' || text.front() == '\n')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' ||
                           text.back() == '\r' || text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string ErrnoText(int number) {
  char buf[256] = {};
  // GNU strerror_r may return a static string instead of filling buf.
  const char* text = strerror_r(number, buf, sizeof(buf));
  return text != nullptr ? std::string(text) : std::to_string(number);
}

ErrorKind KindOf(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorKind::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return ErrorKind::kTls;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_OUT_OF_MEMORY:  // curl's own 100 KiB cap on one header line
      return ErrorKind::kDecode;
    default:
      return ErrorKind::kNetwork;  // DNS, connect, reset, closed, proxy, ...
  }
}

// One request, from Send to its `done`. Owned by the queue, then by
// in_flight_; the callbacks below get it through CURLOPT_*DATA.
struct Transfer {
  Api api = Api::kGetRoomList;
  std::string url;
  std::string usersig;  // to scrub from any message
  std::string request_body;
  UpstreamClient::Done done;
  SteadyClock::time_point start;

  std::string body;
  std::size_t header_bytes = 0;
  bool headers_too_large = false;
  bool header_line_too_long = false;
  bool body_too_large = false;
  std::string location;  // Location of the last header block, cleaned
  char error[CURL_ERROR_SIZE] = {};
};

std::size_t OnHeader(char* data, std::size_t size, std::size_t count,
                     void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->header_bytes += n;
  if (n > kMaxHeaderLineBytes) {
    t->header_line_too_long = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  if (t->header_bytes > kMaxHeaderBytes) {
    t->headers_too_large = true;
    return 0;
  }
  const std::string_view line(data, n);
  if (StartsWithNoCase(line, "http/")) {
    t->location.clear();  // a new block (after a 1xx) starts
  } else if (StartsWithNoCase(line, "location:")) {
    // Without its query: the operator needs the place, not the parameters.
    std::string_view location = Trim(line.substr(9));
    const std::size_t query = location.find('?');
    t->location = UpstreamText(location.substr(0, query), 200);
    if (query != std::string_view::npos) t->location += "?...";
  }
  return n;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count,
                   void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (n > kMaxAnswerBytes - t->body.size()) {
    t->body_too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  t->body.append(data, n);
  return n;
}

class CurlUpstreamClient final : public UpstreamClient {
 public:
  CurlUpstreamClient(const AppConfig& app, int max_connections)
      : app_(app),
        endpoint_(TrimSlash(app.endpoint)),
        proxy_(HttpProxyFromEnvironment(endpoint_)),
        rng_(std::random_device{}()) {
    GlobalInitOnce();
    multi_ = curl_multi_init();
    const long connections = std::max(1, max_connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, connections);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, connections);
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, long{CURLPIPE_NOTHING});
    headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Accept: application/json");
    headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue
    user_agent_ = std::string("tencent_live_exporter/") + kVersion;
    thread_ = std::thread([this] { Run(); });
  }

  ~CurlUpstreamClient() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    thread_.join();
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
    curl_slist_free_all(headers_);
  }

  CurlUpstreamClient(const CurlUpstreamClient&) = delete;
  CurlUpstreamClient& operator=(const CurlUpstreamClient&) = delete;
  CurlUpstreamClient(CurlUpstreamClient&&) = delete;
  CurlUpstreamClient& operator=(CurlUpstreamClient&&) = delete;

  void Send(Api api, std::string body, Done done) override {
    auto t = std::make_unique<Transfer>();
    t->api = api;
    t->request_body = std::move(body);
    t->done = std::move(done);
    t->start = SteadyClock::now();
    std::unique_ptr<Transfer> refused;  // not queued: cancelled
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cancelled_ || stopping_) {
        refused = std::move(t);
      } else {
        t->usersig = UserSigLocked();
        t->url = endpoint_ + ApiTarget(api, app_.sdkappid, app_.identifier,
                                       t->usersig,
                                       static_cast<std::uint32_t>(rng_()));
        queue_.push_back(std::move(t));
      }
    }
    if (refused) {
      Fail(*refused, "cancelled");
      return;
    }
    curl_multi_wakeup(multi_);
  }

  void RenewCredential() override {
    std::lock_guard<std::mutex> lock(mutex_);
    usersig_.clear();
  }

  void Cancel() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
    }
    curl_multi_wakeup(multi_);
  }

 private:
  static std::string TrimSlash(std::string endpoint) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    return endpoint;
  }

  static std::string HttpProxyFromEnvironment(const std::string& endpoint) {
    if (!StartsWithNoCase(endpoint, "http://")) return std::string();
    if (std::getenv("http_proxy") != nullptr) return std::string();
    const char* upper = std::getenv("HTTP_PROXY");
    return upper != nullptr ? std::string(upper) : std::string();
  }

  // A static usersig as configured; else the minted one, renewed once half of
  // usersig_ttl has passed (well before the API calls it expired).
  // REQUIRES: mutex_ held.
  std::string UserSigLocked() {
    if (app_.credential.kind == Credential::Kind::kStaticUserSig)
      return app_.credential.value;
    const std::int64_t now = UnixSeconds();
    const std::int64_t ttl =
        std::chrono::duration_cast<std::chrono::seconds>(app_.walk.usersig_ttl)
            .count();
    if (usersig_.empty() || now >= minted_at_ + ttl / 2 || now < minted_at_) {
      usersig_ = MintUserSig(app_.credential.value, app_.identifier,
                             app_.sdkappid, now, ttl);
      minted_at_ = now;
    }
    return usersig_;
  }

  // Hands `t` its failure without a transfer (cancelled before or during it).
  static void Fail(Transfer& t, const std::string& message) {
    const double seconds =
        std::chrono::duration<double>(SteadyClock::now() - t.start).count();
    Deliver(t, {FetchError{ErrorKind::kNetwork, 0, message, ""}, seconds});
  }

  static void Deliver(Transfer& t, ApiResponse response) {
    Done done = std::move(t.done);
    try {
      if (done) done(std::move(response));
    } catch (...) {
      // `done` must not throw; if it does, the I/O thread carries on.
    }
  }

  // The I/O thread.
  void Run() {
    while (true) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      bool cancelled = false;
      bool stopping = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        incoming.swap(queue_);
        cancelled = cancelled_;
        stopping = stopping_;
      }
      if (cancelled || stopping) {
        for (auto& t : incoming) Fail(*t, "cancelled");
        incoming.clear();
        AbortInFlight();
        if (stopping) return;
      }
      for (auto& t : incoming) Start(std::move(t));
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
        if (msg->msg == CURLMSG_DONE)
          Finish(msg->easy_handle, msg->data.result);
      }
      // Sleeps until a socket is ready, a curl timer is due, or a wakeup.
      curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
    }
  }

  CURL* TakeHandle() {
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      return easy;
    }
    return curl_easy_init();
  }

  void ReturnHandle(CURL* easy) {
    curl_multi_remove_handle(multi_, easy);
    if (idle_.size() < static_cast<std::size_t>(kDefaultMaxConnections) * 2) {
      idle_.push_back(easy);
    } else {
      curl_easy_cleanup(easy);
    }
  }

  void Start(std::unique_ptr<Transfer> t) {
    CURL* easy = TakeHandle();
    if (easy == nullptr) {
      Fail(*t, "cannot start a request (curl_easy_init failed)");
      return;
    }
    const long timeout_ms = Milliseconds(app_.walk.request_timeout);
    curl_easy_setopt(easy, CURLOPT_URL, t->url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    // A request that ends (deadline, Cancel) while its name lookup still runs
    // detaches the resolver thread instead of waiting for getaddrinfo: without
    // this, one hanging DNS lookup would stall every request of the I/O thread.
    curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, long{CURL_HTTP_VERSION_1_1});
    curl_easy_setopt(easy, CURLOPT_POST, 1L);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t->request_body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t->request_body.size()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(kMaxAnswerBytes));
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER,
                     app_.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST,
                     app_.insecure_skip_verify ? 0L : 2L);
    // Set only when configured: a null CAINFO would drop curl's default CA
    // bundle, a null PROXY is the default anyway. Both are the same for every
    // request of this client, so a reused handle never keeps another value.
    if (!app_.ca_file.empty())
      curl_easy_setopt(easy, CURLOPT_CAINFO, app_.ca_file.c_str());
    if (!proxy_.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, proxy_.c_str());
    const CURLMcode added = curl_multi_add_handle(multi_, easy);
    if (added != CURLM_OK) {
      idle_.push_back(easy);
      Fail(*t, std::string("cannot start a request: ") +
                   curl_multi_strerror(added));
      return;
    }
    in_flight_.emplace(easy, std::move(t));
  }

  void Finish(CURL* easy, CURLcode code) {
    auto it = in_flight_.find(easy);
    if (it == in_flight_.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    in_flight_.erase(it);
    long status = 0;
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    ReturnHandle(easy);
    ApiResponse response = Outcome(*t, code, status, os_errno);
    Deliver(*t, std::move(response));
  }

  void AbortInFlight() {
    auto in_flight = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [easy, t] : in_flight) {
      ReturnHandle(easy);
      Fail(*t, "cancelled");
    }
  }

  ApiResponse Outcome(Transfer& t, CURLcode code, long status,
                      long os_errno) const {
    const double seconds =
        std::chrono::duration<double>(SteadyClock::now() - t.start).count();
    return {BodyOrError(t, code, status, os_errno), seconds};
  }

  // The answer's body when the transfer ended with a whole HTTP 200 answer,
  // else why not.
  Result<std::string, FetchError> BodyOrError(Transfer& t, CURLcode code,
                                              long status,
                                              long os_errno) const {
    FetchError error;
    const std::string where = std::string(Info(t.api).name) + " " + endpoint_;
    if (t.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
      error.kind = ErrorKind::kDecode;
      error.message = where + ": answer larger than 8 MiB";
      return error;
    }
    if (t.header_line_too_long) {
      error.kind = ErrorKind::kDecode;
      error.message = where + ": answer header line longer than " +
                      std::to_string(kMaxHeaderLineBytes / 1024) + " KiB";
      return error;
    }
    if (t.headers_too_large) {
      error.kind = ErrorKind::kDecode;
      error.message = where + ": answer headers larger than " +
                      std::to_string(kMaxHeaderBytes / 1024) + " KiB";
      return error;
    }
    if (code == CURLE_OUT_OF_MEMORY && t.body.empty()) {
      error.kind = ErrorKind::kDecode;
      error.message = where + ": answer header line longer than curl accepts";
      return error;
    }
    if (code != CURLE_OK) {
      error.kind = KindOf(code);
      std::string reason =
          t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code);
      // curl 7.88 names the errno only in its verbose output: add its text
      // ("Connection refused", "No route to host") when curl has one.
      if (os_errno != 0) {
        const std::string os_text = ErrnoText(static_cast<int>(os_errno));
        if (reason.find(os_text) == std::string::npos)
          reason += " (" + os_text + ")";
      }
      error.message = where + ": " + Scrub(UpstreamText(reason, 512), t);
      if (error.kind == ErrorKind::kTimeout) {
        error.message +=
            " (request_timeout " +
            std::to_string(Milliseconds(app_.walk.request_timeout)) + " ms)";
      } else if (error.kind == ErrorKind::kTls) {
        if (app_.insecure_skip_verify) {
          error.message += " (insecure_skip_verify)";
        } else if (!app_.ca_file.empty()) {
          if (error.message.find(app_.ca_file) == std::string::npos)
            error.message += " (ca_file " + app_.ca_file + ")";
        } else {
          error.message += " (system CA store)";
        }
      }
      return error;
    }
    if (status != 200) {
      error.kind = ErrorKind::kHttp;
      error.code = status;
      error.message = where + ": HTTP " + std::to_string(status);
      if (status >= 300 && status < 400) {
        error.message += " (redirects are not followed";
        if (!t.location.empty())
          error.message += "; Location: " + Scrub(t.location, t);
        error.message += ")";
      }
      return error;
    }
    return std::move(t.body);
  }

  // Removes the UserSig from a message, and any query that names one (from
  // "?" on, or from the word on when there is no "?" before it).
  static std::string Scrub(std::string text, const Transfer& t) {
    if (!t.usersig.empty()) {
      for (std::size_t at = text.find(t.usersig); at != std::string::npos;
           at = text.find(t.usersig, at)) {
        text.replace(at, t.usersig.size(), "<removed>");
      }
    }
    for (std::size_t i = 0; i + 7 <= text.size(); ++i) {
      if (StartsWithNoCase(std::string_view(text).substr(i), "usersig")) {
        const std::size_t query = text.rfind('?', i);
        text.resize(query != std::string::npos ? query : i);
        text += "<query removed>";
        break;
      }
    }
    return text;
  }

  const AppConfig app_;
  const std::string endpoint_;  // scheme://host[:port], no trailing '/'
  const std::string proxy_;     // HTTP_PROXY for http:// when curl skips it
  std::string user_agent_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;

  std::mutex mutex_;
  // Guarded by mutex_:
  std::deque<std::unique_ptr<Transfer>> queue_;
  bool cancelled_ = false;
  bool stopping_ = false;
  std::string usersig_;
  std::int64_t minted_at_ = 0;
  std::mt19937 rng_;

  // The I/O thread's only (after construction):
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> in_flight_;
  std::vector<CURL*> idle_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<UpstreamClient> MakeHttpUpstreamClient(const AppConfig& app,
                                                       int max_connections) {
  return std::make_unique<CurlUpstreamClient>(app, max_connections);
}

}  // namespace tle
