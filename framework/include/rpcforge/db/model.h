// SPDX-License-Identifier: Apache-2.0
// rpcforge::db::Model declares a table once: its name, fields and constraints. The
// declaration is the single source of the CREATE TABLE migration, of row validation
// (every bad field reported at once as a rpcforge::ValidationError) and of queries.
//
//   const rpcforge::db::Model& PostModel() {
//     using namespace rpcforge::db;
//     static const Model model("blog.post", {
//         CharField("title", 100),
//         CharField("slug", 50).Regex("[a-z0-9-]+").Unique(),
//         TextField("body").Blank(),
//         ForeignKey("author", "blog.author", OnDelete::kCascade),
//         DateTimeField("created_at").AutoNowAdd().Index(),
//     });
//     return model;
//   }
//   rpcforge::db::Row post = PostModel().Objects(db).Create({{"title", "Hi"}, ...});
#ifndef RPCFORGE_DB_MODEL_H_
#define RPCFORGE_DB_MODEL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpcforge/db/value.h"
#include "rpcforge/export.h"

namespace rpcforge::db {

class Database;
class QuerySet;

enum class FieldType {
  kAutoId,      // INTEGER PRIMARY KEY AUTOINCREMENT
  kInteger,     // INTEGER
  kBigInteger,  // INTEGER (64-bit, as every SQLite integer)
  kFloat,       // REAL
  kBool,        // INTEGER 0/1; read back as Value::Type::kBool
  kChar,        // VARCHAR(max_length); length is validated
  kText,        // TEXT
  kDateTime,    // TEXT, RFC 3339 UTC (FormatTimestamp); read back as kTime
  kDate,        // TEXT "YYYY-MM-DD"
  kBinary,      // BLOB
  kJson,        // TEXT holding valid JSON (validated)
  kForeignKey,  // INTEGER column "<name>_id" referencing the target's id
};

// OnDelete is what deleting the referenced row does to rows pointing at it.
enum class OnDelete {
  kCascade,  // delete them too
  kProtect,  // refuse the delete (rpcforge::FailedPrecondition)
  kSetNull,  // set the reference to NULL (the field must be Null())
};

// A Validator returns an error message for a bad value, or nullopt. It sees non-null
// values already checked for type.
using Validator = std::function<std::optional<std::string>(const Value&)>;

// Field describes one column. Build one with the factory functions below and chain the
// options: `CharField("email", 254).Email().Unique()`. Copyable; immutable once the
// Model is constructed, and then safe to read from any thread.
class RPCFORGE_EXPORT Field {
 public:
  Field(std::string name, FieldType type);

  // Null allows NULL (default: NOT NULL).
  Field& Null(bool v = true);
  // Blank allows the empty string for char/text fields (default: refused).
  Field& Blank(bool v = true);
  // Default is the value `Create` uses when none is given.
  Field& Default(Value v);
  Field& Unique(bool v = true);
  // Index adds a single-column index.
  Field& Index(bool v = true);
  // Choices restricts the value to `choices`.
  Field& Choices(std::vector<Value> choices);
  Field& MaxLength(int n);
  // MinValue/MaxValue bound numeric fields (inclusive).
  Field& MinValue(double v);
  Field& MaxValue(double v);
  // Email requires a plausible e-mail address.
  Field& Email();
  // Regex requires the whole value to match `pattern` (ECMAScript); `message` is the
  // error (default "Enter a valid value.").
  Field& Regex(const std::string& pattern, std::string message = "");
  // Validate adds a custom validator.
  Field& Validate(Validator v);
  // AutoNow sets the field to the database clock's Now() on every Create and Update;
  // AutoNowAdd on Create only. Datetime fields only.
  Field& AutoNow();
  Field& AutoNowAdd();
  // HelpText documents the field (used by generated .proto comments).
  Field& HelpText(std::string text);

  const std::string& name() const noexcept { return name_; }
  // column is the SQL column: `name`, or `<name>_id` for foreign keys.
  const std::string& column() const noexcept { return column_; }
  FieldType type() const noexcept { return type_; }
  bool primary_key() const noexcept { return type_ == FieldType::kAutoId; }
  bool null() const noexcept { return null_; }
  bool blank() const noexcept { return blank_; }
  const std::optional<Value>& default_value() const noexcept { return default_; }
  bool unique() const noexcept { return unique_; }
  bool indexed() const noexcept { return index_; }
  int max_length() const noexcept { return max_length_; }
  const std::vector<Value>& choices() const noexcept { return choices_; }
  bool auto_now() const noexcept { return auto_now_; }
  bool auto_now_add() const noexcept { return auto_now_add_; }
  const std::string& help_text() const noexcept { return help_text_; }
  // For foreign keys: the target model's label and the delete rule.
  const std::string& target() const noexcept { return target_; }
  OnDelete on_delete() const noexcept { return on_delete_; }

  // Renamed is a copy named `name` (its column follows: `<name>_id` for a foreign key).
  Field Renamed(std::string name) const;

  // Check returns every problem with the non-missing value `v` (empty when valid).
  std::vector<std::string> Check(const Value& v) const;

 private:
  friend RPCFORGE_EXPORT Field ForeignKey(std::string, std::string, OnDelete);
  std::string name_;
  std::string column_;
  FieldType type_;
  bool null_ = false;
  bool blank_ = false;
  std::optional<Value> default_;
  bool unique_ = false;
  bool index_ = false;
  int max_length_ = 0;
  std::vector<Value> choices_;
  std::optional<double> min_;
  std::optional<double> max_;
  std::vector<Validator> validators_;
  bool auto_now_ = false;
  bool auto_now_add_ = false;
  std::string help_text_;
  std::string target_;
  OnDelete on_delete_ = OnDelete::kCascade;
};

// Field factories. `name` must be a lower-case identifier ([a-z_][a-z0-9_]*).
RPCFORGE_EXPORT Field AutoField(std::string name = "id");
RPCFORGE_EXPORT Field IntegerField(std::string name);
RPCFORGE_EXPORT Field BigIntegerField(std::string name);
RPCFORGE_EXPORT Field FloatField(std::string name);
RPCFORGE_EXPORT Field BoolField(std::string name);
RPCFORGE_EXPORT Field CharField(std::string name, int max_length);
RPCFORGE_EXPORT Field TextField(std::string name);
RPCFORGE_EXPORT Field DateTimeField(std::string name);
RPCFORGE_EXPORT Field DateField(std::string name);
RPCFORGE_EXPORT Field BinaryField(std::string name);
RPCFORGE_EXPORT Field JsonField(std::string name);
// ForeignKey references `target` ("app.model") by its id; the column is `<name>_id`.
RPCFORGE_EXPORT Field ForeignKey(std::string name, std::string target, OnDelete on_delete);

// Model is a table declaration. Construct once (typically a function-local static)
// and share by const reference; it must outlive every QuerySet and Registry using it.
// Thread-safe for reading after construction.
class RPCFORGE_EXPORT Model {
 public:
  // Model validates the declaration and throws rpcforge::InvalidArgument naming the
  // problem (bad label, bad or duplicate field name, char field without max_length,
  // SetNull on a non-null foreign key, ...). Adds AutoField("id") first when no field is
  // a primary key.
  Model(std::string label, std::vector<Field> fields);

  // Index adds a (possibly composite, possibly unique) index over `fields`.
  Model& Index(std::vector<std::string> fields, bool unique = false);
  // Ordering sets the default order of queries ("-created_at", "id").
  Model& Ordering(std::vector<std::string> fields);

  const std::string& label() const noexcept { return label_; }    // "blog.post"
  const std::string& app_label() const noexcept { return app_; }  // "blog"
  const std::string& table() const noexcept { return table_; }    // "blog_post"
  const std::vector<Field>& fields() const noexcept { return fields_; }
  const Field& pk() const { return fields_.at(pk_index_); }
  const std::vector<std::string>& ordering() const noexcept { return ordering_; }

  // FindField looks a field up by name or column ("author" or "author_id"; "pk" is the
  // primary key). Returns nullptr when absent.
  const Field* FindField(std::string_view name) const noexcept;
  // GetField is FindField that throws rpcforge::InvalidArgument
  // "blog.post has no field 'x'".
  const Field& GetField(std::string_view name) const;

  // CreateSql returns the CREATE TABLE statement followed by its CREATE INDEX ones.
  std::vector<std::string> CreateSql() const;
  // CreateTableSql is the CREATE TABLE statement alone, for a table named `table`
  // (the table-rebuild procedure creates the new table under a temporary name);
  // IndexSql is the CREATE INDEX statements alone.
  std::string CreateTableSql(std::string_view table) const;
  std::vector<std::string> IndexSql() const;
  // IndexNames are the names IndexSql gives its indexes, in the same order.
  std::vector<std::string> IndexNames() const;

  // IndexSpec is one index added with Index().
  struct IndexSpec {
    std::vector<std::string> fields;
    bool unique = false;
    friend bool operator==(const IndexSpec& a, const IndexSpec& b) {
      return a.fields == b.fields && a.unique == b.unique;
    }
  };
  const std::vector<IndexSpec>& indexes() const noexcept { return indexes_; }

  // Validate checks `values` (field names or columns) and throws rpcforge::ValidationError
  // listing every bad field. With `partial`, missing fields are not required (updates).
  // Unknown names throw rpcforge::InvalidArgument.
  void Validate(const Values& values, bool partial = false) const;

  // ToStorage converts `v` for `field` to what is stored (datetime text -> time, ...).
  // FromStorage converts a stored value back (0/1 -> bool, text -> time).
  static Value ToStorage(const Field& field, const Value& v);
  static Value FromStorage(const Field& field, const Value& v);

  // Objects starts a query over this model on `db` (see query.h).
  QuerySet Objects(Database& db) const;

 private:
  std::string label_;
  std::string app_;
  std::string table_;
  std::vector<Field> fields_;
  size_t pk_index_ = 0;
  std::vector<IndexSpec> indexes_;
  std::vector<std::string> ordering_;
};

}  // namespace rpcforge::db

#endif  // RPCFORGE_DB_MODEL_H_
