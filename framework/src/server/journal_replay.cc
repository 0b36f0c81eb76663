// SPDX-License-Identifier: Apache-2.0
#include "server/journal_replay.h"

#include <string>
#include <vector>

#include "core/logging.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/journal.h"
#include "rpcforge/logging/request_log.h"

namespace rpcforge::server_internal {

int64_t ReplayJournals(db::Database& db) noexcept {
  try {
    return db::Journal::ReplayJournals(
        db, [](db::Database& d, const std::vector<db::JournalRecord>& records) {
          std::vector<std::string> rows, uses;
          for (const db::JournalRecord& r : records) {
            if (r.kind == db::kJournalRequestLogRow) {
              rows.push_back(r.payload);
            } else if (r.kind == db::kJournalApiKeyUse) {
              uses.push_back(r.payload);
            } else {
              RPCFORGE_LOG_WARN("journal", "skipping a record of unknown kind {}", int{r.kind});
            }
          }
          if (!rows.empty()) logging::ApplyRequestLogRecords(d, rows);
          if (!uses.empty()) auth::auth_internal::ApplyKeyUses(d, uses);
        });
  } catch (const std::exception& e) {
    RPCFORGE_LOG_WARN("journal", "cannot replay the journals of {}: {}", db.path(), e.what());
    return 0;
  }
}

}  // namespace rpcforge::server_internal
