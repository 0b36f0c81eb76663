// SPDX-License-Identifier: Apache-2.0
// The authenticated identity of one request: the user and the API key the auth
// middleware found. They live on the request's `rpcforge::Context` only, never on a
// service object, so one request's user can never leak into another.
#ifndef RPCFORGE_AUTH_IDENTITY_H_
#define RPCFORGE_AUTH_IDENTITY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "rpcforge/clock.h"

namespace rpcforge::auth {

// User is a snapshot of a row of the framework's `rpcforge.user` model.
struct User {
  int64_t id = 0;
  std::string username;
  std::string email;
  bool is_active = true;
  bool is_staff = false;
  bool is_superuser = false;
};

// ApiKey is a snapshot of a row of `rpcforge.apikey`: never the key itself, which is
// stored only as a SHA-256 hash.
struct ApiKey {
  int64_t id = 0;
  std::string name;
  std::string prefix;  // short public prefix for display
  int64_t user_id = 0;
  std::optional<Clock::TimePoint> expires_at;
  // True for the config's secret key accepted as an internal identity.
  bool is_secret_key = false;
};

}  // namespace rpcforge::auth

#endif  // RPCFORGE_AUTH_IDENTITY_H_
