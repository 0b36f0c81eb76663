# SPDX-License-Identifier: Apache-2.0
# rpcforge::db: the connection pool (SQLite, PostgreSQL through libpq), transactions, models, queries, migrations
# and fixture data (loaddata/dumpdata).
rpcforge_framework_module(db
  SRCS
    src/db/database.cc
    src/db/pool.cc
    src/db/call_scopes.cc
    src/db/transaction.cc
    src/db/sqlite_connection.cc
    src/db/postgres_connection.cc
    src/db/postgres_sql.cc
    src/db/errors.cc
    src/db/value.cc
    src/db/model.cc
    src/db/query.cc
    src/db/registry.cc
    src/db/migrate.cc
    src/db/schema.cc
    src/db/schema_sqlite.cc
    src/db/schema_postgres.cc
    src/db/migration_file.cc
    src/db/framework_models.cc
    src/db/fixture_data.cc
    src/db/group_commit.cc
    src/db/journal.cc
  PUBLIC_DEPS rpcforge_core
  PRIVATE_DEPS SQLiteCpp SQLite::SQLite3 PostgreSQL::PostgreSQL nlohmann_json::nlohmann_json spdlog::spdlog)
# The framework app's migration files, frozen as the tables were when each was written.
rpcforge_add_migrations(rpcforge_db APP rpcforge DIR src/db/migrations
  FUNCTION rpcforge::db::db_internal::AddFrameworkMigrationFiles)
