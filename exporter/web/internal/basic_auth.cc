#include "exporter/web/internal/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <strings.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "exporter/common/base64.h"
#include "exporter/common/text.h"

namespace tle::web {
namespace {

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

void Cleanse(std::string* s) {
  if (!s->empty()) OPENSSL_cleanse(s->data(), s->size());
  s->clear();
}

}  // namespace

Credentials::Credentials(std::string user, std::string password)
    : user_(std::move(user)), password_(std::move(password)) {}

Credentials::~Credentials() { Wipe(); }

Credentials::Credentials(Credentials&& other) noexcept
    : user_(std::move(other.user_)), password_(std::move(other.password_)) {
  other.Wipe();
}

Credentials& Credentials::operator=(Credentials&& other) noexcept {
  if (this != &other) {
    Wipe();
    user_ = std::move(other.user_);
    password_ = std::move(other.password_);
    other.Wipe();
  }
  return *this;
}

void Credentials::Wipe() {
  Cleanse(&password_);
  user_.clear();
}

std::optional<Credentials> Credentials::FromHeader(std::string_view header) {
  constexpr std::string_view kPrefix = "Basic ";
  if (header.size() <= kPrefix.size() ||
      strncasecmp(header.data(), kPrefix.data(), kPrefix.size()) != 0) {
    return std::nullopt;
  }
  std::string decoded =
      Base64Decode(header.substr(kPrefix.size())).value_or("");
  std::size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    Cleanse(&decoded);
    return std::nullopt;
  }
  std::optional<Credentials> credentials(
      std::in_place, decoded.substr(0, colon), decoded.substr(colon + 1));
  Cleanse(&decoded);
  return credentials;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1) {
    throw std::runtime_error("basic_auth_users: no random bytes");
  }
  if (users_.empty()) return;
  // An unknown user is checked against this hash, with the highest cost in
  // the file, so it takes as long as a wrong password.
  std::uint64_t cost = 4;
  for (const auto& [user, hash] : users_) {
    cost = std::max(
        cost, ParseUint64(std::string_view(hash).substr(4, 2)).value_or(4));
  }
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
  dummy_cost_ = static_cast<int>(cost);
}

BasicAuth::Digest BasicAuth::Key(const Credentials& credentials) const {
  std::string message = credentials.user();
  message.push_back('\0');
  message += credentials.password();
  Digest digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       digest.data(), &length);
  Cleanse(&message);
  return digest;
}

bool BasicAuth::CheckCached(const Credentials& credentials) const {
  if (users_.find(credentials.user()) == users_.end()) return false;
  Digest key = Key(credentials);
  std::lock_guard<std::mutex> lock(mutex_);
  auto cached = cache_.find(credentials.user());
  return cached != cache_.end() &&
         CRYPTO_memcmp(cached->second.data(), key.data(), key.size()) == 0;
}

bool BasicAuth::Verify(const Credentials& credentials) {
  auto found = users_.find(credentials.user());
  if (found == users_.end()) {
    std::string ignored;
    ++bcrypt_runs_;
    Bcrypt(credentials.password(), dummy_hash_, &ignored);
    return false;
  }
  if (CheckCached(credentials)) return true;
  std::string computed;
  const std::string& stored = found->second;
  ++bcrypt_runs_;
  bool match =
      Bcrypt(credentials.password(), stored, &computed) &&
      computed.size() == stored.size() &&
      CRYPTO_memcmp(computed.data(), stored.data(), stored.size()) == 0;
  if (match) {
    Digest key = Key(credentials);
    std::lock_guard<std::mutex> lock(mutex_);
    cache_[credentials.user()] = key;  // one entry per configured user at most
  }
  return match;
}

BcryptPool::BcryptPool(int threads, std::size_t max_queued)
    : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

BcryptPool::~BcryptPool() { Stop(); }

bool BcryptPool::TrySubmit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return true;
}

void BcryptPool::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void BcryptPool::Run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (...) {
      // A task reports its own failures; none may end the pool's thread.
    }
  }
}

}  // namespace tle::web
