// SPDX-License-Identifier: Apache-2.0
// Fixture data in Django's `loaddata`/`dumpdata` JSON form: the `loaddata` and
// `dumpdata` commands, and the fixture files of rpcforge::fixtures test cases.
//
//   [{"model": "blog.post", "pk": 1, "fields": {"title": "Hello", "author": 3}}]
//
//   rpcforge::db::LoadData(db, registry, {"fixtures/blog.json"}, std::cout);
//   rpcforge::db::DumpData(db, registry, {"blog.post"}, std::cout);
//
// Field values in JSON: integers, numbers, booleans and strings as themselves;
// foreign keys as the target's pk; datetimes as RFC 3339 strings; dates as
// "YYYY-MM-DD"; binary as base64 strings; JSON fields as any JSON value.
#ifndef RPCFORGE_DB_FIXTURE_DATA_H_
#define RPCFORGE_DB_FIXTURE_DATA_H_

#include <ostream>
#include <string>
#include <vector>

#include "rpcforge/db/database.h"
#include "rpcforge/db/registry.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

// FixtureSource is one fixture document: `name` for messages (usually the path) and
// its JSON `text`.
struct FixtureSource {
  std::string name;
  std::string text;
};

// LoadData reads `files` and loads them with LoadFixtures. A file that cannot be read
// is a rpcforge::ValidationError entry on that file.
RPCFORGE_EXPORT int LoadData(Database& db, const Registry& registry,
                             const std::vector<std::string>& files, std::ostream& out);

// LoadFixtures validates every object of every source against its model first and
// then loads them all in one transaction (foreign keys checked at the end, so objects
// may come in any order); an object whose pk exists is updated. All or nothing: on any
// error nothing is loaded and rpcforge::ValidationError lists every problem, each
// violation's field being "<source>[<index>].<field>" (or "<source>[<index>]" /
// "<source>" for structural problems); `ToStatus().error_message()` renders them all.
// Writes "Installed N object(s) from M fixture(s)" to `out` and returns N.
RPCFORGE_EXPORT int LoadFixtures(Database& db, const Registry& registry,
                                 const std::vector<FixtureSource>& sources, std::ostream& out);

// DumpData writes the rows of `labels` ("app.model", or "app" for all its models;
// empty = every registered model) as one JSON array, ordered by model then pk.
// Unknown labels throw rpcforge::InvalidArgument naming the label. `indent` < 0
// writes one line.
RPCFORGE_EXPORT void DumpData(Database& db, const Registry& registry,
                              const std::vector<std::string>& labels, std::ostream& out,
                              int indent = 2);

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_FIXTURE_DATA_H_
