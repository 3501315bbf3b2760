#include "exporter/web/internal/connection_registry.h"

#include <algorithm>
#include <vector>

namespace tle::web {
namespace {

std::int64_t Now() {
  return std::max<std::int64_t>(
      1, std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

ConnectionBase::ConnectionBase(ConnectionRegistry& registry)
    : registry_(registry) {
  registry_.Add(this);
}

ConnectionBase::~ConnectionBase() { registry_.Remove(this); }

void ConnectionBase::MarkEvictable() {
  std::int64_t state = state_.load();
  while (state != kClaimed && !state_.compare_exchange_weak(state, Now())) {
  }
}

bool ConnectionBase::MarkBusy() {
  std::int64_t state = state_.load();
  while (state != kClaimed) {
    if (state_.compare_exchange_weak(state, kBusy)) return true;
  }
  return false;
}

ConnectionRegistry::ConnectionRegistry(std::size_t max_connections)
    : max_connections_(max_connections) {}

void ConnectionRegistry::Add(ConnectionBase* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  connection->position_ = connections_.insert(connections_.end(), connection);
}

void ConnectionRegistry::Remove(ConnectionBase* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connection->state_.load() == ConnectionBase::kClaimed) --claimed_;
  connections_.erase(connection->position_);
  if (connections_.empty()) emptied_.notify_all();
}

bool ConnectionRegistry::MakeRoom() {
  // References taken under the lock are dropped only after it: dropping the
  // last one runs the destructor, which takes the lock.
  std::vector<std::shared_ptr<ConnectionBase>> seen;
  std::shared_ptr<ConnectionBase> victim;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (max_connections_ == 0 ||
        connections_.size() - claimed_ < max_connections_) {
      return true;
    }
    // A few tries: the chosen one may become busy while we look.
    for (int attempt = 0; attempt < 4 && !victim; ++attempt) {
      ConnectionBase* oldest = nullptr;
      std::int64_t oldest_since = 0;
      for (ConnectionBase* c : connections_) {
        std::int64_t since = c->state_.load();
        if (since > 0 && (oldest == nullptr || since < oldest_since)) {
          oldest = c;
          oldest_since = since;
        }
      }
      if (oldest == nullptr) break;
      std::shared_ptr<ConnectionBase> alive = oldest->weak_from_this().lock();
      if (!alive) return true;  // being destroyed: room is on its way
      if (alive->state_.compare_exchange_strong(oldest_since,
                                                ConnectionBase::kClaimed)) {
        ++claimed_;
        victim = alive;
      }
      seen.push_back(std::move(alive));
    }
  }
  if (!victim) return false;
  victim->Shed();
  return true;
}

void ConnectionRegistry::ShedEvictable() {
  std::vector<std::shared_ptr<ConnectionBase>> victims;
  std::vector<std::shared_ptr<ConnectionBase>> seen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (ConnectionBase* c : connections_) {
      std::int64_t since = c->state_.load();
      if (since <= 0) continue;
      std::shared_ptr<ConnectionBase> alive = c->weak_from_this().lock();
      if (!alive) continue;
      if (alive->state_.compare_exchange_strong(since,
                                                ConnectionBase::kClaimed)) {
        ++claimed_;
        victims.push_back(std::move(alive));
      } else {
        seen.push_back(std::move(alive));
      }
    }
  }
  for (auto& victim : victims) victim->Shed();
}

void ConnectionRegistry::CloseAll() {
  std::vector<std::shared_ptr<ConnectionBase>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (ConnectionBase* c : connections_) {
      if (auto alive = c->weak_from_this().lock()) all.push_back(alive);
    }
  }
  for (auto& c : all) c->Shed();
  all.clear();
}

bool ConnectionRegistry::WaitEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return emptied_.wait_for(lock, timeout,
                           [this] { return connections_.empty(); });
}

std::size_t ConnectionRegistry::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return connections_.size();
}

}  // namespace tle::web
