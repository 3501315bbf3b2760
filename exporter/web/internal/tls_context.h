// The server side of TLS: one OpenSSL context per load of a tls_server_config.
//
// MakeTlsContext loads the certificate chain and key (checking that they
// match), the client CAs, and applies exporter-toolkit's settings: the client
// auth type, the protocol range, the TLS 1.0-1.2 cipher suites (forward-secret
// ECDHE suites only unless cipher_suites names others), server cipher
// preference and the key exchange groups. Each context gets its own random
// session id context and session ticket keys, so session resumption works in
// every client certificate mode and a session from before a web config reload
// never resumes after it (a reload builds a new context).
//
// The context is immutable once made; handshakes on any thread may share it.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>

#include "exporter/config/web_config.h"

namespace tle::web {

// Throws std::runtime_error naming the key ("tls_server_config.cert_file:
// cannot load PATH: reason") when a file cannot be loaded or a setting is
// refused by OpenSSL.
std::shared_ptr<boost::asio::ssl::context> MakeTlsContext(
    const TlsServerConfig& config);

}  // namespace tle::web
