// Test support: a listening TCP socket on 127.0.0.1, on a port the kernel
// picks, for the tests' hand-written upstream servers.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

namespace tle::testing {

struct LoopbackListener {
  int fd = -1;            // the caller closes it
  sockaddr_in address{};  // where it listens
  int port = 0;
};

// Binds and listens with `backlog`; fails the test case when it cannot.
inline LoopbackListener ListenOnLoopback(int backlog) {
  LoopbackListener l;
  l.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(l.fd >= 0);
  l.address.sin_family = AF_INET;
  l.address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  l.address.sin_port = 0;
  REQUIRE(::bind(l.fd, reinterpret_cast<sockaddr*>(&l.address),
                 sizeof(l.address)) == 0);
  REQUIRE(::listen(l.fd, backlog) == 0);
  socklen_t len = sizeof(l.address);
  REQUIRE(::getsockname(l.fd, reinterpret_cast<sockaddr*>(&l.address), &len) ==
          0);
  l.port = ntohs(l.address.sin_port);
  return l;
}

}  // namespace tle::testing
