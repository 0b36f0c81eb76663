// SPDX-License-Identifier: Apache-2.0
// ReplayJournals puts in the database what processes that died left in their journals
// (rpcforge/db/journal.h), each record kind through the applier the App registered for
// it (App::RegisterJournalApplier: request-log rows, API-key uses). The server runs it
// when it starts, and every command that opens the application's database runs it, so
// the rows of calls answered before a kill -9 are there for the next reader. Private.
#ifndef RPCFORGE_SRC_SERVER_JOURNAL_REPLAY_H_
#define RPCFORGE_SRC_SERVER_JOURNAL_REPLAY_H_

#include <cstdint>

namespace rpcforge {
class App;
namespace db {
class Database;
}  // namespace db
}  // namespace rpcforge

namespace rpcforge::server_internal {

// ReplayJournals returns the number of records applied; never throws (failures are
// logged, the journals kept for a later try).
int64_t ReplayJournals(db::Database& db, const App& app) noexcept;

}  // namespace rpcforge::server_internal

#endif  // RPCFORGE_SRC_SERVER_JOURNAL_REPLAY_H_
