// SPDX-License-Identifier: Apache-2.0
// Auth commands: `users create|list`, `keys create|list|revoke`.
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "rpcforge/auth/api_keys.h"
#include "rpcforge/config/config.h"
#include "rpcforge/db/database.h"
#include "rpcforge/errors.h"

namespace rpcforge::cli_internal {
namespace {

std::string Time(const std::optional<Clock::TimePoint>& t, const char* none = "-") {
  if (!t) return none;
  std::string s = FormatTimestamp(*t);  // 2026-01-01T00:00:00.000000Z
  // Seconds are enough for people.
  if (s.size() > 20) s = s.substr(0, 19) + "Z";
  return s;
}

void PrintTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

auth::User RequireUserNamed(db::Database& database, const std::string& name) {
  auto user = auth::FindUser(database, name);
  if (!user) throw NotFound("Unknown user '" + name + "'");
  return *user;
}

int ReportValidation(const ValidationError& e, CommandEnv& env) {
  *env.err << "error: " << e.ToStatus().error_message() << "\n";
  for (const auto& v : e.violations()) *env.err << "  " << v.field << ": " << v.description << "\n";
  return 1;
}

struct UserFlags {
  std::string username, email;
  bool staff = false, superuser = false;
};

int CreateUserCommand(const UserFlags& o, db::Database& database, CommandEnv& env) {
  try {
    auth::User u = auth::CreateUser(database, {o.username, o.email, o.staff, o.superuser, true});
    *env.out << "Created user '" << u.username << "' (id " << u.id << ")"
             << (u.is_superuser ? ", superuser"
                 : u.is_staff   ? ", staff"
                                : "")
             << "\n";
  } catch (const ValidationError& e) {
    return ReportValidation(e, env);
  }
  return 0;
}

int ListUsersCommand(db::Database& database, CommandEnv& env) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "USERNAME", "EMAIL", "ACTIVE", "STAFF", "SUPERUSER"}};
  for (const auth::User& u : auth::ListUsers(database)) {
    rows.push_back({std::to_string(u.id), u.username, u.email.empty() ? "-" : u.email,
                    u.is_active ? "yes" : "no", u.is_staff ? "yes" : "no",
                    u.is_superuser ? "yes" : "no"});
  }
  if (rows.size() == 1) {
    *env.out << "No users. Create one with `users create USERNAME`.\n";
  } else {
    PrintTable(*env.out, rows);
  }
  return 0;
}

std::function<int(CommandEnv&)> SetUpUsers(CLI::App& sub) {
  sub.require_subcommand(1);
  auto o = std::make_shared<UserFlags>();
  CLI::App* create = sub.add_subcommand("create", "Create a user");
  create->add_option("username", o->username, "unique user name")->required();
  create->add_option("--email", o->email, "e-mail address");
  create->add_flag("--staff", o->staff, "may use staff-only methods");
  create->add_flag("--superuser", o->superuser, "has every permission");
  sub.add_subcommand("list", "List users");
  return [o, create](CommandEnv& env) {
    auto database = OpenDatabase(env);
    return create->parsed() ? CreateUserCommand(*o, *database, env)
                            : ListUsersCommand(*database, env);
  };
}

struct KeyFlags {
  std::string name, user, expires_in, list_user, revoke_user;
  int64_t id = 0;
};

int CreateKeyCommand(const KeyFlags& o, db::Database& database, CommandEnv& env) {
  std::optional<std::chrono::seconds> expires;
  if (!o.expires_in.empty()) {
    google::protobuf::Duration d;
    std::string error;
    if (!config::ParseDuration(o.expires_in, &d, &error) || d.seconds() <= 0) {
      *env.err << "error: --expires-in: " << (error.empty() ? "must be positive" : error)
               << " (examples: 30d, 12h, 90m)\n";
      return 2;
    }
    if (std::chrono::seconds(d.seconds()) > auth::kMaxApiKeyExpiry) {
      *env.err << "error: --expires-in: at most 100 years, got " << o.expires_in
               << " (examples: 30d, 12h, 90m)\n";
      return 2;
    }
    expires = std::chrono::seconds(d.seconds());
  }
  auth::User user = RequireUserNamed(database, o.user);
  try {
    auth::CreatedApiKey k = auth::CreateApiKey(database, user, o.name, expires, env.app->clock());
    *env.out << "Created API key " << k.info.id << " '" << k.info.name << "' for " << user.username
             << " (expires " << Time(k.info.expires_at, "never") << "):\n\n  " << k.key << "\n\n"
             << "Copy it now: it is stored only as a hash and will not be shown again.\n";
  } catch (const ValidationError& e) {
    return ReportValidation(e, env);
  }
  return 0;
}

int ListKeysCommand(const KeyFlags& o, db::Database& database, CommandEnv& env) {
  std::optional<int64_t> only;
  if (!o.list_user.empty()) only = RequireUserNamed(database, o.list_user).id;
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "PREFIX", "USER", "CREATED", "EXPIRES", "REVOKED", "LAST USED", "REQUESTS"}};
  for (const auth::ApiKeyInfo& k : auth::ListApiKeys(database, only)) {
    rows.push_back({std::to_string(k.id), k.name, k.prefix + "...", k.username, Time(k.created_at),
                    Time(k.expires_at, "never"), Time(k.revoked_at), Time(k.last_used_at, "never"),
                    std::to_string(k.request_count)});
  }
  if (rows.size() == 1) {
    *env.out << "No API keys.\n";
  } else {
    PrintTable(*env.out, rows);
  }
  return 0;
}

// RevokeKeysCommand: `by_user` is whether --user was given, `by_id` whether an ID was.
int RevokeKeysCommand(const KeyFlags& o, bool by_user, bool by_id, db::Database& database,
                      CommandEnv& env) {
  if (by_user) {
    auth::User user = RequireUserNamed(database, o.revoke_user);
    const int64_t n = auth::RevokeUserKeys(database, user.id, env.app->clock());
    *env.out << "Revoked " << n << " key(s) of " << user.username << ".\n";
    return 0;
  }
  if (!by_id) {
    *env.err << "error: keys revoke needs a key ID or --user USERNAME\n";
    return 2;
  }
  auto info = auth::GetApiKeyInfo(database, o.id);
  if (!info) {
    *env.err << "error: no API key with id " << o.id << "\n";
    return 1;
  }
  if (!auth::RevokeApiKey(database, o.id, env.app->clock())) {
    *env.out << "API key " << o.id << " was already revoked.\n";
    return 0;
  }
  *env.out << "Revoked API key " << o.id << " '" << info->name << "' (" << info->prefix
           << "...) of " << info->username << ".\n";
  return 0;
}

std::function<int(CommandEnv&)> SetUpKeys(CLI::App& sub) {
  sub.require_subcommand(1);
  auto o = std::make_shared<KeyFlags>();
  CLI::App* create = sub.add_subcommand("create", "Create a key (printed once)");
  create->add_option("--name", o->name, "what the key is for")->required();
  create->add_option("--user", o->user, "owner's username")->required();
  create->add_option("--expires-in", o->expires_in, "lifetime, e.g. 30d, 12h (default: never)");
  CLI::App* list = sub.add_subcommand("list", "List keys (never the keys themselves)");
  list->add_option("--user", o->list_user, "only this user's keys");
  CLI::App* revoke = sub.add_subcommand("revoke", "Revoke one key, or all of a user's");
  auto* id_opt = revoke->add_option("id", o->id, "key id (see keys list)");
  auto* user_opt = revoke->add_option("--user", o->revoke_user, "revoke all of this user's keys");
  id_opt->excludes(user_opt);
  return [o, create, list, id_opt, user_opt](CommandEnv& env) {
    auto database = OpenDatabase(env);
    if (create->parsed()) return CreateKeyCommand(*o, *database, env);
    if (list->parsed()) return ListKeysCommand(*o, *database, env);
    return RevokeKeysCommand(*o, user_opt->count() > 0, id_opt->count() > 0, *database, env);
  };
}

}  // namespace

void RegisterAuthCommands() {
  RegisterCommand({"users",
                   "Manage users: users create USERNAME [--email E] [--staff] [--superuser], "
                   "users list",
                   60, SetUpUsers});
  RegisterCommand(
      {"keys",
       "Manage API keys: keys create --name N --user U [--expires-in 30d], keys list [--user U], "
       "keys revoke ID|--user U",
       61, SetUpKeys});
}

}  // namespace rpcforge::cli_internal
