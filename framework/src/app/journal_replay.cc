// SPDX-License-Identifier: Apache-2.0
#include "app/journal_replay.h"

#include <map>
#include <string>
#include <vector>

#include "core/logging.h"
#include "rpcforge/app.h"
#include "rpcforge/db/database.h"
#include "rpcforge/db/journal.h"

namespace rpcforge::server_internal {

int64_t ReplayJournals(db::Database& db, const App& app) noexcept {
  try {
    const auto& appliers = app.journal_appliers();
    return db::Journal::ReplayJournals(
        db, [&appliers](db::Database& d, const std::vector<db::JournalRecord>& records) {
          // Applied kind by kind, in the order of their numbers (request-log rows, then
          // API-key uses), each kind's records in journal order.
          std::map<uint8_t, std::vector<std::string>> by_kind;
          for (const db::JournalRecord& r : records) {
            if (appliers.count(r.kind) == 0) {
              RPCFORGE_LOG_WARN("journal", "skipping a record of unknown kind {}", int{r.kind});
              continue;
            }
            by_kind[r.kind].push_back(r.payload);
          }
          for (const auto& [kind, payloads] : by_kind) appliers.at(kind)(d, payloads);
        });
  } catch (const std::exception& e) {
    RPCFORGE_LOG_WARN("journal", "cannot replay the journals of {}: {}", db.path(), e.what());
    return 0;
  }
}

}  // namespace rpcforge::server_internal
