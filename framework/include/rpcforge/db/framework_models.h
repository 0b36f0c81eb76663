// SPDX-License-Identifier: Apache-2.0
// The framework's own tables, app "rpcforge": users, API keys, request logs, server
// status and shared rate-limit windows. They are ordinary Models, so services,
// commands and tests query them with the usual API:
//
//   auto keys = rpcforge::db::ApiKeyModel().Objects(db);
//   auto live = keys.Filter("revoked_at__isnull", true).Filter("user", user_id).All();
#ifndef RPCFORGE_DB_FRAMEWORK_MODELS_H_
#define RPCFORGE_DB_FRAMEWORK_MODELS_H_

#include "rpcforge/db/model.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

// UserModel is "rpcforge.user" (table rpcforge_user): username (unique, max 150),
// email, is_active, is_staff, is_superuser, date_joined (auto_now_add), last_login.
RPCFORGE_EXPORT const Model& UserModel();

// ApiKeyModel is "rpcforge.apikey": name, user (FK cascade), prefix (indexed, shown to
// humans), key_hash (unique SHA-256 hex of the secret; the secret itself is never
// stored), created_at, expires_at/revoked_at/last_used_at (nullable), request_count.
RPCFORGE_EXPORT const Model& ApiKeyModel();

// RequestLogModel is "rpcforge.requestlog": request_id, service, method, full_method,
// status (pending/success/error/timeout/cancelled), code (gRPC code name),
// error_message, duration_ms, user and api_key (nullable FKs, set null), is_authenticated,
// peer (the transport's address), peer_host and peer_port (parsed from it; migration
// 0002_requestlog_peer), request_messages, response_messages, request_size,
// response_size, created_at (indexed), completed_at.
RPCFORGE_EXPORT const Model& RequestLogModel();

// ServerStatusModel is "rpcforge.serverstatus": instance_id ("host:port:pid", unique),
// host, port, pid, status (starting/running/stopping/stopped/error), started_at,
// last_heartbeat, stopped_at, error_message, services (JSON list of service names).
RPCFORGE_EXPORT const Model& ServerStatusModel();

// JournalModel is "rpcforge.journal": name (a journal file, unique) and applied_seq
// (the last of its records in the database; see rpcforge/db/journal.h).
RPCFORGE_EXPORT const Model& JournalModel();

// RateLimitModel is "rpcforge.ratelimit": key (the rate limiter's opaque key, unique),
// window_end_ms (Unix milliseconds when its window ends) and calls (taken in it, the
// refused ones included); the rows of `rate_limit_storage: database`.
RPCFORGE_EXPORT const Model& RateLimitModel();

// RegisterFrameworkApp adds the "rpcforge" app (these models, migrations 0001_initial,
// 0002_requestlog_peer, 0003_requestlog_fewer_indexes, 0004_journal and
// 0005_ratelimit) to `registry`.
// Registry::Global() does it on first use; call it on registries you build yourself. Idempotent.
RPCFORGE_EXPORT void RegisterFrameworkApp(Registry& registry);

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_FRAMEWORK_MODELS_H_
