// Basic auth for the web server: the basic_auth_users of one web config, a
// cache of the credentials verified against them, and the small thread pool
// that runs bcrypt away from the I/O threads.
//
// A request's Authorization header is first checked by BasicAuth::CheckCached
// on the I/O thread: a header that cannot be basic credentials fails there, and
// credentials verified before pass there (an HMAC-SHA256 under a per-process
// random key, compared in constant time; never the plaintext). Everything else
// costs one bcrypt, which BcryptPool runs on its own threads with a bounded
// queue: when the queue is full the request is refused at once, so a flood of
// unknown users delays only other uncached checks, never the scrapes whose
// credentials are cached. An unknown user is checked against a dummy hash of
// the highest cost in the file, so it takes as long as a wrong password.
//
// BasicAuth is immutable but for its cache (guarded by a mutex); all methods
// may be called from any thread. BcryptPool owns threads; Stop() joins them.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tle::web {

// A user name and password taken from an Authorization header. The password
// is wiped when the object goes away.
class Credentials {
 public:
  Credentials() = default;
  Credentials(std::string user, std::string password);
  ~Credentials();
  Credentials(Credentials&& other) noexcept;
  Credentials& operator=(Credentials&& other) noexcept;
  Credentials(const Credentials&) = delete;
  Credentials& operator=(const Credentials&) = delete;

  // "Basic base64(user:password)" -> credentials; nullopt when the header is
  // anything else.
  static std::optional<Credentials> FromHeader(std::string_view header);

  const std::string& user() const { return user_; }
  const std::string& password() const { return password_; }

 private:
  void Wipe();
  std::string user_;
  std::string password_;
};

class BasicAuth {
 public:
  // REQUIRES: every hash is a bcrypt hash (the web config stage checks).
  explicit BasicAuth(std::map<std::string, std::string> users);
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const { return !users_.empty(); }
  std::size_t users() const { return users_.size(); }

  // True when these credentials were verified before (cheap).
  bool CheckCached(const Credentials& credentials) const;
  // Runs bcrypt (tens of milliseconds at cost 10), unless the credentials are
  // cached; caches a success.
  bool Verify(const Credentials& credentials);

  // The bcrypt runs Verify has done: what the tests count instead of timing
  // them (a cached check adds none; a wrong password and an unknown user add
  // one each).
  std::uint64_t bcrypt_runs() const { return bcrypt_runs_.load(); }
  // The cost of the dummy hash an unknown user is checked against: the highest
  // cost in the file, so that an unknown user takes as long as a wrong
  // password. 0 when no user is configured.
  int unknown_user_cost() const { return dummy_cost_; }

 private:
  using Digest = std::array<unsigned char, 32>;
  Digest Key(const Credentials& credentials) const;

  const std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  int dummy_cost_ = 0;
  std::atomic<std::uint64_t> bcrypt_runs_{0};
  std::array<unsigned char, 32> hmac_key_{};
  mutable std::mutex mutex_;
  // user -> keyed digest of the password last verified. GUARDED_BY(mutex_)
  std::map<std::string, Digest> cache_;
};

class BcryptPool {
 public:
  BcryptPool(int threads, std::size_t max_queued);
  ~BcryptPool();  // Stop()s
  BcryptPool(const BcryptPool&) = delete;
  BcryptPool& operator=(const BcryptPool&) = delete;
  BcryptPool(BcryptPool&&) = delete;
  BcryptPool& operator=(BcryptPool&&) = delete;

  // Queues `task`; false (and `task` is dropped) when max_queued tasks are
  // already waiting or the pool is stopped.
  bool TrySubmit(std::function<void()> task);
  // Runs the tasks already queued, then joins the threads; idempotent.
  void Stop();

 private:
  void Run();

  const std::size_t max_queued_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                    // GUARDED_BY(mutex_)
  std::vector<std::thread> threads_;
};

}  // namespace tle::web
