#include "exporter/web/internal/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace tle::web {
namespace {

// Go's default TLS 1.2 suites (ECDHE only, so every session is forward
// secret), in its order: AES-GCM, ChaCha20, then AES-CBC.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";
constexpr const char* kDefaultGroups = "X25519:P-256:P-384:P-521";

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

[[noreturn]] void Fail(const char* key, const std::string& what) {
  throw std::runtime_error("tls_server_config." + std::string(key) + ": " +
                           what + ": " + OpenSslError());
}

[[noreturn]] void CannotLoad(const char* key, const std::string& path) {
  Fail(key, "cannot load " + path);
}

int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct Chain {
  STACK_OF(X509) * certs = sk_X509_new_null();
  Chain() = default;
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;
  ~Chain() { sk_X509_pop_free(certs, X509_free); }
};

void LoadCertificateAndKey(const TlsServerConfig& config, SSL_CTX* ctx) {
  Bio cert_bio(BIO_new_file(config.cert_file.c_str(), "r"), &BIO_free);
  if (!cert_bio) CannotLoad("cert_file", config.cert_file);
  Cert cert(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr),
            &X509_free);
  if (!cert) CannotLoad("cert_file", config.cert_file);
  Chain chain;
  while (X509* extra =
             PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(chain.certs, extra);
  }
  ERR_clear_error();  // the end of the file reads as an error
  Bio key_bio(BIO_new_file(config.key_file.c_str(), "r"), &BIO_free);
  if (!key_bio) CannotLoad("key_file", config.key_file);
  Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr),
          &EVP_PKEY_free);
  if (!key) CannotLoad("key_file", config.key_file);
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    Fail("key_file",
         "cannot load " + config.key_file + " (does not match cert_file)");
  }
  if (SSL_CTX_use_cert_and_key(ctx, cert.get(), key.get(), chain.certs, 1) !=
      1) {
    CannotLoad("cert_file", config.cert_file);
  }
}

void SetClientAuth(const TlsServerConfig& config, SSL_CTX* ctx) {
  if (!config.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_file(ctx, config.client_ca_file.c_str()) != 1) {
      CannotLoad("client_ca_file", config.client_ca_file);
    }
    STACK_OF(X509_NAME)* names =
        SSL_load_client_CA_file(config.client_ca_file.c_str());
    if (names == nullptr) CannotLoad("client_ca_file", config.client_ca_file);
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  }
  switch (config.client_auth_type) {
    case ClientAuthType::kNoClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuthType::kRequestClientCert:  // asks, checks nothing
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuthType::kRequireAnyClientCert:  // wants one, checks nothing
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         AcceptAnyCertificate);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         nullptr);
      break;
  }
}

void SetProtocols(const TlsServerConfig& config, SSL_CTX* ctx) {
  int min_version = static_cast<int>(config.min_version);
  int max_version = static_cast<int>(config.max_version);
  std::string ciphers;
  if (config.cipher_suites.empty()) {
    ciphers = kDefaultCiphers;
  } else {
    for (const std::string& suite : config.cipher_suites) {
      std::string name = OpenSslCipherName(suite).value_or("");
      if (name.empty()) continue;  // TLS 1.3: not configurable, as in Go
      if (!ciphers.empty()) ciphers += ':';
      ciphers += name;
    }
  }
  if (ciphers.empty()) {
    // Only TLS 1.3 names: no TLS 1.2 handshake can succeed, as in Go.
    if (config.max_version != TlsVersion::kTls13) {
      throw std::runtime_error(
          "tls_server_config.cipher_suites: no suite for TLS 1.2 or older, "
          "but max_version is " +
          std::string(TlsVersionName(config.max_version)));
    }
    min_version = TLS1_3_VERSION;
  } else if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    Fail("cipher_suites", "refused by OpenSSL (" + ciphers + ")");
  }
  // OpenSSL 3 allows TLS 1.0 and 1.1 only at security level 0.
  if (min_version < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx, 0);
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
    Fail("min_version", "refused by OpenSSL");
  }
  if (SSL_CTX_set_max_proto_version(ctx, max_version) != 1) {
    Fail("max_version", "refused by OpenSSL");
  }
  std::string groups;
  for (const std::string& group : config.curve_preferences) {
    if (!groups.empty()) groups += ':';
    groups += group;
  }
  if (groups.empty()) groups = kDefaultGroups;
  if (SSL_CTX_set1_groups_list(ctx, groups.c_str()) != 1) {
    Fail("curve_preferences", "refused by OpenSSL (" + groups + ")");
  }
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> MakeTlsContext(
    const TlsServerConfig& config) {
  auto context = std::make_shared<boost::asio::ssl::context>(
      boost::asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  std::uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                          SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION;
  if (config.prefer_server_cipher_suites) {
    options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  }
  SSL_CTX_set_options(ctx, options);
  // Idle connections give their 34 KiB of OpenSSL buffers back.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  LoadCertificateAndKey(config, ctx);
  SetClientAuth(config, ctx);
  SetProtocols(config, ctx);
  // Resumption with client certificates needs a session id context; a random
  // one per context keeps sessions of an older web config from resuming.
  std::array<unsigned char, SSL_MAX_SID_CTX_LENGTH> sid_context{};
  if (RAND_bytes(sid_context.data(), static_cast<int>(sid_context.size())) !=
          1 ||
      SSL_CTX_set_session_id_context(
          ctx, sid_context.data(),
          static_cast<unsigned int>(sid_context.size())) != 1) {
    Fail("cert_file", "cannot set a session id context");
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, 1024);
  return context;
}

}  // namespace tle::web
