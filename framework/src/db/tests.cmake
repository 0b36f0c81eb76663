# SPDX-License-Identifier: Apache-2.0
rpcforge_add_test(NAME rpcforge_db_test
  SRCS
    src/db/database_test.cc
    src/db/value_test.cc
    src/db/model_test.cc
    src/db/query_test.cc
    src/db/migrate_test.cc
    src/db/schema_test.cc
    src/db/fixture_data_test.cc
    src/db/group_commit_test.cc
    src/db/journal_test.cc
    src/db/backends_test.cc
  DEPS rpcforge_db SQLiteCpp SQLite::SQLite3)
target_include_directories(rpcforge_db_test PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
