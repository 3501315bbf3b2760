// The web server's open connections, for --web.max-connections and for a
// graceful stop.
//
// Every connection is registered for its whole life. A connection that is
// waiting for a request (after its TLS handshake starts, between keep-alive
// requests, or while a request is still arriving) is "evictable" and records
// since when; once its request is complete it is busy until the answer is
// written. At the cap, MakeRoom() sheds the connection that has been evictable
// the longest to make room for a new one: under a flood of idle or slow
// connections the oldest goes first, while a real scraper, which sends its
// request at once, is busy within a millisecond of connecting. When every
// connection is busy the new one is refused (closed at once, before any buffer
// or parser exists for it).
//
// All methods may be called from any thread; the list is guarded by one mutex.
// A connection's evictable state is an atomic that the connection and the
// registry change by compare-and-swap, so a shed and a request that completes
// at the same moment cannot both win.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>

namespace tle::web {

class ConnectionRegistry;

class ConnectionBase : public std::enable_shared_from_this<ConnectionBase> {
 public:
  explicit ConnectionBase(ConnectionRegistry& registry);  // registers
  virtual ~ConnectionBase();                              // unregisters
  ConnectionBase(const ConnectionBase&) = delete;
  ConnectionBase& operator=(const ConnectionBase&) = delete;
  ConnectionBase(ConnectionBase&&) = delete;
  ConnectionBase& operator=(ConnectionBase&&) = delete;

  // From any thread: closes the connection on its own executor.
  virtual void Shed() = 0;

 protected:
  // Waiting for a request (or for the rest of one) from now on, unless the
  // connection was claimed for shedding.
  void MarkEvictable();
  // The request is complete; false when the connection was claimed for
  // shedding first (then it must close).
  bool MarkBusy();

 private:
  friend class ConnectionRegistry;
  static constexpr std::int64_t kBusy = 0;
  static constexpr std::int64_t kClaimed = -1;

  // > 0: evictable since this steady-clock tick; kBusy; kClaimed.
  std::atomic<std::int64_t> state_{kBusy};
  ConnectionRegistry& registry_;
  std::list<ConnectionBase*>::iterator position_;  // GUARDED_BY(registry_)
};

class ConnectionRegistry {
 public:
  explicit ConnectionRegistry(std::size_t max_connections);  // 0: no cap
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;
  ConnectionRegistry(ConnectionRegistry&&) = delete;
  ConnectionRegistry& operator=(ConnectionRegistry&&) = delete;

  // True when a new connection may be opened: below the cap, or at it after
  // shedding the longest-evictable connection. False when all are busy.
  bool MakeRoom();
  // Sheds every evictable connection (a stopping server).
  void ShedEvictable();
  // Closes every connection.
  void CloseAll();
  // Waits until no connection is left; false on timeout.
  bool WaitEmpty(std::chrono::milliseconds timeout);
  std::size_t size() const;

 private:
  friend class ConnectionBase;
  void Add(ConnectionBase* connection);
  void Remove(ConnectionBase* connection);

  const std::size_t max_connections_;
  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::list<ConnectionBase*> connections_;  // GUARDED_BY(mutex_)
  std::size_t claimed_ = 0;  // shed but not yet gone; GUARDED_BY(mutex_)
};

}  // namespace tle::web
