#include "signers/hmac_sha256_openssl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "signers/hmac_common.h"

namespace aequor {
namespace {

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }  // cleanses the key
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};

// One keyed EVP_MAC_CTX. EVP_MAC_init() with a null key restarts it from the
// ipad/opad state computed once at creation (measured: ~0.24 µs per tag;
// EVP_MAC_CTX_dup() per call was ~0.5 µs, EVP_Q_mac() ~1.3 µs).
class OpensslMac {
 public:
  static constexpr absl::string_view kLibrary = "OpenSSL";

  explicit OpensslMac(MacCtxPtr ctx) : ctx_(std::move(ctx)) {}

  bool Compute(absl::string_view payload, uint8_t* out) {
    size_t mac_length = 0;
    const bool ok =
        EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) == 1 &&
        EVP_MAC_update(ctx_.get(), reinterpret_cast<const unsigned char*>(payload.data()),
                       payload.size()) == 1 &&
        EVP_MAC_final(ctx_.get(), out, &mac_length, signers_internal::kHmacSha256Bytes) == 1 &&
        mac_length == signers_internal::kHmacSha256Bytes;
    if (!ok) ERR_clear_error();  // don't leave this thread's error queue dirty
    return ok;
  }

  static bool Equal(const char* a, const char* b, size_t n) { return CRYPTO_memcmp(a, b, n) == 0; }

 private:
  MacCtxPtr ctx_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LeaseSigner>> NewHmacSha256OpensslSigner(const Secret& key) {
  if (absl::Status s = signers_internal::CheckKey(kHmacSha256OpensslSignerName, 0, key); !s.ok()) {
    return s;
  }
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  MacCtxPtr ctx(mac == nullptr ? nullptr : EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  const absl::string_view bytes = key.UnsafeBytes();
  if (ctx == nullptr ||
      EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                   params) != 1) {
    ERR_clear_error();
    return absl::InternalError(
        absl::StrCat(kHmacSha256OpensslSignerName, ": OpenSSL cannot provide HMAC-SHA256"));
  }
  return std::unique_ptr<LeaseSigner>(
      new signers_internal::HmacSigner<OpensslMac>(OpensslMac(std::move(ctx))));
}

std::unique_ptr<LeaseSignerFactory> NewHmacSha256OpensslSignerFactory() {
  return std::make_unique<signers_internal::LeafSignerFactory>(
      kHmacSha256OpensslSignerName,
      "HMAC-SHA256 on OpenSSL 3 (EVP_MAC) with the newest coordination secret",
      &NewHmacSha256OpensslSigner);
}

}  // namespace aequor
