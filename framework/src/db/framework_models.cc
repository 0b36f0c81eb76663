// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/framework_models.h"

#include <set>
#include <string>
#include <vector>

#include "db/dialect.h"
#include "rpcforge/db/database.h"

namespace rpcforge::db {

const Model& UserModel() {
  static const Model* model =
      new Model("rpcforge.user",
                {
                    CharField("username", 150)
                        .Unique()
                        .Regex(R"([A-Za-z0-9_.@+\-]+)",
                               "Enter a valid username: letters, digits and @/./+/-/_ only."),
                    CharField("email", 254).Blank().Default("").Email(),
                    BoolField("is_active").Default(true),
                    BoolField("is_staff").Default(false),
                    BoolField("is_superuser").Default(false),
                    DateTimeField("date_joined").AutoNowAdd(),
                    DateTimeField("last_login").Null(),
                });
  return *model;
}

const Model& ApiKeyModel() {
  static const Model* model = new Model(
      "rpcforge.apikey",
      {
          CharField("name", 100),
          ForeignKey("user", "rpcforge.user", OnDelete::kCascade),
          CharField("prefix", 16).Index(),
          CharField("key_hash", 64).Unique().Regex("[0-9a-f]{64}", "Enter a SHA-256 hex digest."),
          DateTimeField("created_at").AutoNowAdd(),
          DateTimeField("expires_at").Null(),
          DateTimeField("revoked_at").Null(),
          DateTimeField("last_used_at").Null(),
          BigIntegerField("request_count").Default(0).MinValue(0),
      });
  return *model;
}

const Model& RequestLogModel() {
  static const Model* model = [] {
    auto* m = new Model("rpcforge.requestlog",
                        {
                            CharField("request_id", 64).Index(),
                            CharField("service", 255),
                            CharField("method", 255),
                            CharField("full_method", 512),
                            CharField("status", 16)
                                .Choices({"pending", "success", "error", "timeout", "cancelled"})
                                .Default("pending"),
                            CharField("code", 32).Blank().Default(""),
                            TextField("error_message").Blank().Default(""),
                            FloatField("duration_ms").Null(),
                            ForeignKey("user", "rpcforge.user", OnDelete::kSetNull).Null(),
                            ForeignKey("api_key", "rpcforge.apikey", OnDelete::kSetNull).Null(),
                            BoolField("is_authenticated").Default(false),
                            CharField("peer", 255).Blank().Default(""),
                            CharField("peer_host", 255).Blank().Default(""),
                            IntegerField("peer_port").Null().MinValue(0).MaxValue(65535),
                            BigIntegerField("request_messages").Default(0).MinValue(0),
                            BigIntegerField("response_messages").Default(0).MinValue(0),
                            BigIntegerField("request_size").Default(0).MinValue(0),
                            BigIntegerField("response_size").Default(0).MinValue(0),
                            DateTimeField("created_at").AutoNowAdd().Index(),
                            DateTimeField("completed_at").Null(),
                        });
    return m;
  }();
  return *model;
}

const Model& ServerStatusModel() {
  static const Model* model =
      new Model("rpcforge.serverstatus",
                {
                    CharField("instance_id", 255).Unique(),
                    CharField("host", 255),
                    IntegerField("port").MinValue(0).MaxValue(65535),
                    BigIntegerField("pid").MinValue(0),
                    CharField("status", 16)
                        .Choices({"starting", "running", "stopping", "stopped", "error"})
                        .Default("starting"),
                    DateTimeField("started_at"),
                    DateTimeField("last_heartbeat").Null(),
                    DateTimeField("stopped_at").Null(),
                    TextField("error_message").Blank().Default(""),
                    JsonField("services").Default("[]"),
                });
  return *model;
}

const Model& JournalModel() {
  static const Model* model =
      new Model("rpcforge.journal", {
                                        CharField("name", 255).Unique(),
                                        BigIntegerField("applied_seq").Default(0).MinValue(0),
                                    });
  return *model;
}

const Model& RateLimitModel() {
  static const Model* model = new Model("rpcforge.ratelimit", {
                                                                  BinaryField("key").Unique(),
                                                                  BigIntegerField("window_end_ms"),
                                                                  BigIntegerField("calls"),
                                                              });
  return *model;
}

namespace {

// 0002 adds the request log's parsed peer and message counts to databases created by
// an earlier 0001_initial. The model declares these columns, so a fresh 0001 already
// creates them; the migration then only adds what is missing.
Migration RequestLogPeerMigration() {
  return Migration::Code("0002_requestlog_peer", [](Database& db) {
    const std::set<std::string> columns =
        db_internal::DialectOf(db).ColumnNames(db, "rpcforge_requestlog");
    const std::vector<std::pair<std::string, std::string>> added = {
        {"peer_host", "VARCHAR(255) NOT NULL DEFAULT ''"},
        {"peer_port", "INTEGER NULL"},
        {"request_messages", "INTEGER NOT NULL DEFAULT 0"},
        {"response_messages", "INTEGER NOT NULL DEFAULT 0"},
    };
    for (const auto& [name, type] : added) {
      if (columns.count(name) == 0) {
        db.Execute("ALTER TABLE \"rpcforge_requestlog\" ADD COLUMN \"" + name + "\" " + type);
      }
    }
  });
}

// 0003 drops two composite indexes of the request log that no query used: each cost a
// b-tree insert per logged call (together a third of the row's insert time).
Migration RequestLogIndexesMigration() {
  return Migration::Code("0003_requestlog_fewer_indexes", [](Database& db) {
    db.Execute("DROP INDEX IF EXISTS \"rpcforge_requestlog_full_method_created_at_idx\"");
    db.Execute("DROP INDEX IF EXISTS \"rpcforge_requestlog_status_created_at_idx\"");
  });
}

}  // namespace

namespace db_internal {
// Defined in the file rpcforge_add_migrations generates from src/db/migrations/*.json.
void AddFrameworkMigrationFiles(App& app);
}  // namespace db_internal

void RegisterFrameworkApp(Registry& registry) {
  App& app = registry.app("rpcforge");
  if (!app.models().empty()) return;
  // 0001_initial, 0004_journal and 0005_ratelimit are files (src/db/migrations), frozen as the
  // tables were when they were written: a change to these models without its migration fails
  // FrameworkMigrations.MatchTheModels. 0002 and 0003 are code for databases created
  // by an earlier 0001 (no change to the schema a fresh database gets).
  app.AddModel(UserModel())
      .AddModel(ApiKeyModel())
      .AddModel(RequestLogModel())
      .AddModel(ServerStatusModel())
      .AddModel(JournalModel())
      .AddModel(RateLimitModel())
      .AddMigration(RequestLogPeerMigration())
      .AddMigration(RequestLogIndexesMigration());
  db_internal::AddFrameworkMigrationFiles(app);
}

}  // namespace rpcforge::db
