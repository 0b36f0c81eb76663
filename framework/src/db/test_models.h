// SPDX-License-Identifier: Apache-2.0
// Models and helpers shared by the db module's tests (test-only, never installed).
#ifndef RPCFORGE_SRC_DB_TEST_MODELS_H_
#define RPCFORGE_SRC_DB_TEST_MODELS_H_

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "rpcforge/db/database.h"
#include "rpcforge/db/model.h"
#include "rpcforge/db/registry.h"

namespace rpcforge::db::testmodels {

inline const Model& Author() {
  static const Model* m = new Model("blog.author", {
                                                       CharField("name", 50),
                                                       CharField("email", 254).Email().Unique(),
                                                   });
  return *m;
}

inline const Model& Post() {
  static const Model* m = [] {
    auto* model = new Model("blog.post",
                            {
                                CharField("title", 20),
                                TextField("body").Blank().Default(""),
                                IntegerField("views").Default(0).MinValue(0),
                                FloatField("rating").Null(),
                                BoolField("published").Default(false),
                                CharField("status", 10).Choices({"draft", "live"}).Default("draft"),
                                ForeignKey("author", "blog.author", OnDelete::kCascade).Null(),
                                DateTimeField("created_at").AutoNowAdd(),
                                DateTimeField("updated_at").AutoNow(),
                                DateField("day").Null(),
                                BinaryField("data").Null(),
                                JsonField("meta").Null(),
                            });
    model->Index({"status", "created_at"});
    return model;
  }();
  return *m;
}

// Editor points at an author with PROTECT.
inline const Model& Editor() {
  static const Model* m =
      new Model("blog.editor", {ForeignKey("author", "blog.author", OnDelete::kProtect)});
  return *m;
}

// Columns lists `table`'s columns in order (SQLite's table_info, PostgreSQL's catalog).
inline std::vector<std::string> Columns(Database& d, const std::string& table) {
  std::vector<std::string> out;
  const char* sql = IsPostgresUrl(d.path())
                        ? "SELECT column_name AS name FROM information_schema.columns WHERE "
                          "table_schema = current_schema() AND table_name = ? "
                          "ORDER BY ordinal_position"
                        : "SELECT name FROM pragma_table_info(?)";
  for (const auto& r : d.Query(sql, {table})) {
    out.push_back(r["name"].AsText());
  }
  return out;
}

inline void AddBlogApp(Registry& registry) {
  registry.app("blog").AddModel(Author()).AddModel(Post()).AddModel(Editor());
}

// TempDir is a fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "rpcforge_db_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace rpcforge::db::testmodels

#endif  // RPCFORGE_SRC_DB_TEST_MODELS_H_
