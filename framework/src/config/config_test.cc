// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/config/config.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>

#include "core/source_file_for_tests.h"

namespace cfg = rpcforge::config;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

namespace {

// Loads `yaml` expecting exactly one error and returns it.
cfg::ConfigError OneError(const std::string& yaml) {
  cfg::LoadResult r = cfg::LoadString(yaml, "config.yaml");
  EXPECT_THAT(r.errors, SizeIs(1)) << r.ErrorText();
  if (r.errors.empty()) return {};
  return r.errors[0];
}

// A temporary file removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/rpcforge_config_test_XXXXXX";
    int fd = mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      if (write(fd, text.data(), text.size()) < 0) path_.clear();
      close(fd);
    }
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> Paths(const std::vector<cfg::ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.path);
  return out;
}

// Every documented key path: "server.address", "rate_limits[].period", ...
void CollectPaths(const google::protobuf::Descriptor* d, const std::string& prefix,
                  std::vector<std::string>* out) {
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    out->push_back(path);
    if (f->message_type() != nullptr && !f->is_map() &&
        f->message_type()->full_name() != "google.protobuf.Duration") {
      CollectPaths(f->message_type(), f->is_repeated() ? path + "[]" : path, out);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------- loading

TEST(ConfigLoader, EmptyFileIsAValidEmptyConfig) {
  for (const char* text : {"", "\n", "# only a comment\n", "~\n"}) {
    cfg::LoadResult r = cfg::LoadString(text, "config.yaml");
    EXPECT_TRUE(r.ok()) << text << ": " << r.ErrorText();
    EXPECT_EQ(r.config.ByteSizeLong(), 0u) << text;
  }
}

TEST(ConfigLoader, MissingFileIsOneClearError) {
  cfg::LoadResult r = cfg::LoadFile("/nonexistent/dir/config.yaml");
  ASSERT_THAT(r.errors, SizeIs(1));
  EXPECT_EQ(r.errors[0].source, "/nonexistent/dir/config.yaml");
  EXPECT_THAT(r.errors[0].message, HasSubstr("cannot read"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("No such file"));
}

TEST(ConfigLoader, ReadsFileFromDisk) {
  TempFile f("server:\n  max_workers: 3\n");
  cfg::LoadResult r = cfg::LoadFile(f.path());
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config.server().max_workers(), 3u);
  EXPECT_EQ(r.locations.at("server.max_workers").source, f.path());
  EXPECT_EQ(r.locations.at("server.max_workers").line, 2);
}

TEST(ConfigLoader, ReadsEveryKindOfField) {
  cfg::LoadResult r = cfg::LoadString(R"(
server:
  address: "[::1]:0"
  max_workers: 4
  max_concurrent_rpcs: 0x10
  shutdown_grace_period: 1.5s
  reflection: false
  keepalive: {time: 2m, permit_without_calls: true}
logging:
  level: DEBUG
  format: json
middlewares: [signals, auth]
auth:
  require_auth_overrides:
    blog.v1.PostService: true
    blog.v1.PostService/ListPosts: false
rate_limits:
  - methods: [a.B/C]
    max_calls: 5
    period: 1m
    key: user
  - methods: [a.B/D, a.B/E]
    max_calls: 7
    period: 500ms
signature_check:
  metadata: {x-signature: abc}
)",
                                      "config.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const auto& c = r.config;
  EXPECT_EQ(c.server().address(), "[::1]:0");
  EXPECT_EQ(c.server().max_workers(), 4u);
  EXPECT_EQ(c.server().max_concurrent_rpcs(), 16u);
  EXPECT_EQ(c.server().shutdown_grace_period().seconds(), 1);
  EXPECT_EQ(c.server().shutdown_grace_period().nanos(), 500000000);
  EXPECT_TRUE(c.server().has_reflection());
  EXPECT_FALSE(c.server().reflection());
  EXPECT_EQ(c.server().keepalive().time().seconds(), 120);
  EXPECT_TRUE(c.server().keepalive().permit_without_calls());
  EXPECT_EQ(c.logging().level(), rpcforge::config::v1::LOG_LEVEL_DEBUG);
  EXPECT_EQ(c.logging().format(), rpcforge::config::v1::LOG_FORMAT_JSON);
  EXPECT_THAT(c.middlewares(), ElementsAre("signals", "auth"));
  EXPECT_EQ(c.auth().require_auth_overrides().at("blog.v1.PostService"), true);
  EXPECT_EQ(c.auth().require_auth_overrides().at("blog.v1.PostService/ListPosts"), false);
  ASSERT_EQ(c.rate_limits_size(), 2);
  EXPECT_EQ(c.rate_limits(0).key(), "user");
  EXPECT_THAT(c.rate_limits(1).methods(), ElementsAre("a.B/D", "a.B/E"));
  EXPECT_EQ(c.rate_limits(1).period().nanos(), 500000000);
  EXPECT_EQ(c.signature_check().metadata().at("x-signature"), "abc");
  EXPECT_EQ(r.locations.at("rate_limits[1].max_calls").line, 23);
  EXPECT_EQ(r.locations.at("rate_limits[1].max_calls").column, 5);
}

TEST(ConfigLoader, NullValueLeavesTheDefault) {
  cfg::LoadResult r = cfg::LoadString("server:\n  max_workers:\nlogging:\n", "c.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_FALSE(r.config.server().has_max_workers());
  EXPECT_EQ(cfg::MaxWorkers(r.config), 16);
}

TEST(ConfigLoader, UnknownKeyNamesKeyAndLine) {
  cfg::ConfigError e = OneError("server:\n  address: x:1\n  max_wrokers: 4\n");
  EXPECT_EQ(e.path, "server.max_wrokers");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 3);
  EXPECT_EQ(e.source, "config.yaml");
  EXPECT_THAT(e.message, HasSubstr("unknown key \"max_wrokers\""));
  EXPECT_THAT(e.message, HasSubstr("did you mean \"max_workers\"?"));
}

TEST(ConfigLoader, UnknownTopLevelKeyWithoutCloseMatchListsValidKeys) {
  cfg::ConfigError e = OneError("logging: {}\nfrobnicate: 1\n");
  EXPECT_EQ(e.path, "frobnicate");
  EXPECT_EQ(e.line, 2);
  EXPECT_THAT(e.message, HasSubstr("valid keys: server, logging, database"));
}

TEST(ConfigLoader, CamelCaseKeySuggestsTheSnakeCaseName) {
  cfg::ConfigError e = OneError("server:\n  maxConcurrentRpcs: 5\n");
  EXPECT_EQ(e.path, "server.maxConcurrentRpcs");
  EXPECT_THAT(e.message, HasSubstr("did you mean \"max_concurrent_rpcs\"?"));
}

TEST(ConfigLoader, StringWhereIntegerExpected) {
  cfg::ConfigError e = OneError("server:\n  max_workers: many\n");
  EXPECT_EQ(e.ToString(),
            "config.yaml:2:16: server.max_workers: expected an integer, got \"many\"");
}

TEST(ConfigLoader, QuotedNumberIsAStringNotAnInteger) {
  cfg::ConfigError e = OneError("server:\n  max_workers: \"16\"\n");
  EXPECT_EQ(e.path, "server.max_workers");
  EXPECT_THAT(e.message, HasSubstr("expected an integer, got the string \"16\""));
}

TEST(ConfigLoader, FloatWhereIntegerExpected) {
  cfg::ConfigError e = OneError("server:\n  max_workers: 1.5\n");
  EXPECT_THAT(e.message, HasSubstr("expected an integer, got \"1.5\""));
}

TEST(ConfigLoader, MapWhereListExpected) {
  cfg::ConfigError e = OneError("\nmiddlewares:\n  auth: true\n");
  EXPECT_EQ(e.path, "middlewares");
  EXPECT_EQ(e.line, 3);
  EXPECT_THAT(e.message, HasSubstr("expected a list, got a mapping"));
}

TEST(ConfigLoader, ScalarWhereMappingExpected) {
  cfg::ConfigError e = OneError("server: fast\n");
  EXPECT_EQ(e.path, "server");
  EXPECT_EQ(e.line, 1);
  EXPECT_THAT(e.message, HasSubstr("expected a mapping, got \"fast\""));
}

TEST(ConfigLoader, ListWhereScalarExpected) {
  cfg::ConfigError e = OneError("database:\n  path: [a, b]\n");
  EXPECT_EQ(e.path, "database.path");
  EXPECT_THAT(e.message, HasSubstr("expected a string, got a list"));
}

TEST(ConfigLoader, TopLevelMustBeAMapping) {
  cfg::ConfigError e = OneError("- a\n- b\n");
  EXPECT_EQ(e.path, "");
  EXPECT_EQ(e.line, 1);
  EXPECT_THAT(e.message, HasSubstr("expected a mapping, got a list"));
}

TEST(ConfigLoader, BooleansAreTrueOrFalseOnly) {
  cfg::ConfigError e = OneError("server:\n  reflection: yes\n");
  EXPECT_EQ(e.path, "server.reflection");
  EXPECT_THAT(e.message, HasSubstr("expected true or false, got \"yes\""));
}

TEST(ConfigLoader, IntegerOutOfRange) {
  cfg::LoadResult r = cfg::LoadString(
      "server:\n  max_receive_message_bytes: 5000000000\n  max_workers: -1\n", "c.yaml");
  ASSERT_THAT(r.errors, SizeIs(2)) << r.ErrorText();
  EXPECT_EQ(r.errors[0].path, "server.max_receive_message_bytes");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_THAT(r.errors[0].message,
              HasSubstr("5000000000 is out of range (-2147483648..2147483647)"));
  EXPECT_EQ(r.errors[1].path, "server.max_workers");
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_THAT(r.errors[1].message, HasSubstr("-1 is out of range (0..4294967295)"));
}

TEST(ConfigLoader, BadEnumNameListsValidOnes) {
  cfg::ConfigError e = OneError("logging:\n  level: verbose\n");
  EXPECT_EQ(e.path, "logging.level");
  EXPECT_EQ(e.line, 2);
  EXPECT_THAT(e.message, HasSubstr("unknown value \"verbose\"; valid values: trace, debug, "
                                   "info, warn, error, off"));
}

TEST(ConfigLoader, UnspecifiedEnumValueCannotBeWritten) {
  cfg::ConfigError e = OneError("logging:\n  format: unspecified\n");
  EXPECT_THAT(e.message, HasSubstr("valid values: text, json"));
}

TEST(ConfigLoader, AcceptsDurationForms) {
  struct Case {
    const char* text;
    int64_t seconds;
    int32_t nanos;
  };
  for (const Case& c :
       {Case{"30s", 30, 0}, Case{"1.5s", 1, 500000000}, Case{"500ms", 0, 500000000},
        Case{"2m", 120, 0}, Case{"1h", 3600, 0}, Case{"1h30m", 5400, 0}, Case{"7d", 604800, 0},
        Case{"0", 0, 0}, Case{"250us", 0, 250000}, Case{"3ns", 0, 3}}) {
    google::protobuf::Duration d;
    std::string error;
    ASSERT_TRUE(cfg::ParseDuration(c.text, &d, &error)) << c.text << ": " << error;
    EXPECT_EQ(d.seconds(), c.seconds) << c.text;
    EXPECT_EQ(d.nanos(), c.nanos) << c.text;
  }
}

TEST(ConfigLoader, FormatDurationRoundTrips) {
  for (const char* text : {"30s", "1.5s", "500ms", "2m", "1h", "1h30m", "0s", "250us"}) {
    google::protobuf::Duration d;
    std::string error;
    ASSERT_TRUE(cfg::ParseDuration(text, &d, &error)) << text;
    EXPECT_EQ(cfg::FormatDuration(d), text);
  }
}

TEST(ConfigLoader, BadDurationsAreErrorsWithLine) {
  cfg::LoadResult r = cfg::LoadString(R"(server:
  shutdown_grace_period: 30
database:
  busy_timeout: soon
request_log:
  retention: 5x
server_status:
  heartbeat_interval: -1s
)",
                                      "c.yaml");
  ASSERT_THAT(r.errors, SizeIs(4)) << r.ErrorText();
  EXPECT_EQ(r.errors[0].path, "server.shutdown_grace_period");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_THAT(r.errors[0].message, HasSubstr("needs a unit"));
  EXPECT_EQ(r.errors[1].path, "database.busy_timeout");
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_THAT(r.errors[1].message, HasSubstr("expected a duration like \"30s\""));
  EXPECT_EQ(r.errors[2].path, "request_log.retention");
  EXPECT_THAT(r.errors[2].message, HasSubstr("unknown unit \"x\""));
  EXPECT_EQ(r.errors[3].path, "server_status.heartbeat_interval");
  EXPECT_THAT(r.errors[3].message, HasSubstr("cannot be negative"));
}

TEST(ConfigLoader, DuplicateKeyNamesBothLines) {
  cfg::ConfigError e = OneError("server:\n  max_workers: 1\n  address: a:1\n  max_workers: 2\n");
  EXPECT_EQ(e.path, "server.max_workers");
  EXPECT_EQ(e.line, 4);
  EXPECT_THAT(e.message, HasSubstr("duplicate key \"max_workers\" (first at line 2)"));
}

TEST(ConfigLoader, DuplicateMapKeyIsAnError) {
  cfg::ConfigError e = OneError("signature_check:\n  metadata:\n    a: x\n    a: y\n");
  EXPECT_EQ(e.path, "signature_check.metadata[\"a\"]");
  EXPECT_EQ(e.line, 4);
  EXPECT_THAT(e.message, HasSubstr("duplicate key \"a\""));
}

TEST(ConfigLoader, YamlSyntaxErrorHasLine) {
  cfg::ConfigError e = OneError("server:\n  address: [a,\n  max_workers: 2\n");
  EXPECT_EQ(e.path, "");
  EXPECT_EQ(e.line, 4);
  EXPECT_THAT(e.message, HasSubstr("YAML syntax error"));
}

TEST(ConfigLoader, MoreThanOneDocumentIsAnError) {
  cfg::ConfigError e = OneError("server: {}\n---\nlogging: {}\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_THAT(e.message, HasSubstr("one YAML document"));
}

// yaml-cpp 0.7's LoadAll never returned (and grew without bound) on a document that
// starts with a token its parser does not consume (jbeder/yaml-cpp#1040); found by
// tests/fuzz/config_fuzzer (corpus/config_fuzzer/regress_lone_comma_hang.yaml).
TEST(ConfigLoader, LoneCommaIsASyntaxErrorNotAHang) {
  cfg::ConfigError e = OneError(",\n  a: 1\n");
  EXPECT_EQ(e.line, 1);
  EXPECT_EQ(e.column, 1);
  EXPECT_THAT(e.message, HasSubstr("YAML syntax error: unexpected \",\""));
  e = OneError("server: {}\n---\n, x\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_THAT(e.message, HasSubstr("one YAML document"));
}

TEST(ConfigLoader, ErrorsInListsAndMapsNameTheElement) {
  cfg::LoadResult r = cfg::LoadString(R"(rate_limits:
  - methods: [a.B/C]
    max_calls: 1
    period: 1s
  - methods: a.B/C
    max_calls: lots
auth:
  require_auth_overrides:
    a.B: maybe
)",
                                      "c.yaml");
  EXPECT_THAT(Paths(r.errors), ElementsAre("rate_limits[1].methods", "rate_limits[1].max_calls",
                                           "auth.require_auth_overrides[\"a.B\"]"));
  ASSERT_THAT(r.errors, SizeIs(3));
  EXPECT_EQ(r.errors[0].line, 5);
  EXPECT_EQ(r.errors[1].line, 6);
  EXPECT_EQ(r.errors[2].line, 9);
}

TEST(ConfigLoader, CollectsAllErrorsNotOnlyTheFirst) {
  cfg::LoadResult r = cfg::LoadString(R"(server:
  max_workers: many
  adress: x
logging:
  level: loud
colour: blue
)",
                                      "c.yaml");
  EXPECT_THAT(Paths(r.errors),
              ElementsAre("server.max_workers", "server.adress", "logging.level", "colour"));
  const std::string text = r.ErrorText();
  EXPECT_THAT(text, HasSubstr("c.yaml:3:3: server.adress: unknown key"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
}

TEST(ConfigLoader, AliasesThatExpandBeyondTheValueCapAreOneError) {
  // 1,000 rules naming one 200-method list: a 20 KB file that would expand to 200,000
  // values. The reader stops at its cap with one error instead of walking them all.
  std::string yaml = "x-methods: &m [";
  for (int i = 0; i < 200; ++i) yaml += (i ? ", " : "") + std::string("a.S/M") + std::to_string(i);
  yaml += "]\nrate_limits:\n";
  for (int i = 0; i < 1000; ++i) yaml += "  - {methods: *m, max_calls: 1, period: 1s}\n";
  cfg::LoadResult r = cfg::LoadString(yaml, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  std::vector<std::string> messages;
  for (const auto& e : r.errors) messages.push_back(e.message);
  EXPECT_THAT(messages, ::testing::Contains(HasSubstr("more than 100000 values")));
  EXPECT_LT(r.config.rate_limits_size(), 1000);
}

TEST(ConfigLoader, AFileOverOneMebibyteIsRefusedUnread) {
  TempFile f("# " + std::string(1 << 20, 'x') + "\n");
  cfg::LoadResult r = cfg::LoadFile(f.path());
  ASSERT_THAT(r.errors, SizeIs(1));
  EXPECT_THAT(r.errors[0].message, HasSubstr("larger than 1 MiB"));
}

TEST(ConfigError, ToStringLeavesOutUnknownParts) {
  EXPECT_EQ((cfg::ConfigError{"a.b", 3, 0, "f.yaml", "bad"}).ToString(), "f.yaml:3: a.b: bad");
  EXPECT_EQ((cfg::ConfigError{"a.b", 0, 0, "env RPCFORGE_A_B", "bad"}).ToString(),
            "env RPCFORGE_A_B: a.b: bad");
  EXPECT_EQ((cfg::ConfigError{"a.b", 0, 0, "", "bad"}).ToString(), "a.b: bad");
  EXPECT_EQ((cfg::ConfigError{"", 2, 5, "f.yaml", "bad"}).ToString(), "f.yaml:2:5: bad");
}

// ---------------------------------------------------------------- environment

TEST(ConfigEnvironment, VariableNameRule) {
  EXPECT_EQ(cfg::EnvironmentVariableName("server.max_workers"), "RPCFORGE_SERVER_MAX_WORKERS");
  EXPECT_EQ(cfg::EnvironmentVariableName("secret_key"), "RPCFORGE_SECRET_KEY");
  EXPECT_EQ(cfg::EnvironmentVariableName("server.keepalive.time"),
            "RPCFORGE_SERVER_KEEPALIVE_TIME");
}

TEST(ConfigEnvironment, VariableNamesAreUniqueAndCoverEveryScalar) {
  std::set<std::string> names;
  std::vector<std::string> paths = cfg::SettablePaths();
  for (const auto& p : paths) {
    EXPECT_TRUE(names.insert(cfg::EnvironmentVariableName(p)).second) << p;
  }
  EXPECT_THAT(paths, testing::Contains("server.tls.client_ca_file"));
  EXPECT_THAT(paths, testing::Contains("middlewares"));
  EXPECT_THAT(paths, testing::Contains("signature_check.metadata"));
  EXPECT_THAT(paths, testing::Not(testing::Contains(testing::HasSubstr("rate_limits"))));
}

TEST(ConfigEnvironment, SetsScalarsListsMapsAndDurations) {
  rpcforge::config::v1::Config c;
  cfg::SourceMap where;
  auto errors = cfg::ApplyEnvironment(&c,
                                      {{"RPCFORGE_SERVER_MAX_WORKERS", "8"},
                                       {"RPCFORGE_SERVER_REFLECTION", "false"},
                                       {"RPCFORGE_LOGGING_LEVEL", "warn"},
                                       {"RPCFORGE_SERVER_SHUTDOWN_GRACE_PERIOD", "3s"},
                                       {"RPCFORGE_ENABLED_SERVICES", "a.B, c.D"},
                                       {"RPCFORGE_SIGNATURE_CHECK_METADATA", "k1=v1,k2=v=2"},
                                       {"RPCFORGE_SECRET_KEY", "s3cret"},
                                       {"HOME", "/root"},
                                       {"RPCFORGE_CONFIG", "x.yaml"}},
                                      &where);
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(c.server().max_workers(), 8u);
  EXPECT_TRUE(c.server().has_reflection());
  EXPECT_FALSE(c.server().reflection());
  EXPECT_EQ(c.logging().level(), rpcforge::config::v1::LOG_LEVEL_WARN);
  EXPECT_EQ(c.server().shutdown_grace_period().seconds(), 3);
  EXPECT_THAT(c.enabled_services(), ElementsAre("a.B", "c.D"));
  EXPECT_EQ(c.signature_check().metadata().at("k1"), "v1");
  EXPECT_EQ(c.signature_check().metadata().at("k2"), "v=2");
  EXPECT_EQ(c.secret_key(), "s3cret");
  EXPECT_EQ(where.at("server.max_workers").source, "env RPCFORGE_SERVER_MAX_WORKERS");
}

TEST(ConfigEnvironment, ListsAreReplacedNotAppended) {
  cfg::LoadResult r = cfg::LoadString("middlewares: [a, b]\n", "c.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(cfg::ApplyEnvironment(&r.config, {{"RPCFORGE_MIDDLEWARES", "c"}}), IsEmpty());
  EXPECT_THAT(r.config.middlewares(), ElementsAre("c"));
}

TEST(ConfigEnvironment, BadValueNamesTheVariable) {
  rpcforge::config::v1::Config c;
  auto errors = cfg::ApplyEnvironment(&c, {{"RPCFORGE_SERVER_MAX_WORKERS", "many"}});
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].ToString(),
            "env RPCFORGE_SERVER_MAX_WORKERS: server.max_workers: expected an integer, got "
            "\"many\"");
}

TEST(ConfigEnvironment, UnknownVariableInAConfigSectionIsAnError) {
  rpcforge::config::v1::Config c;
  auto errors = cfg::ApplyEnvironment(
      &c, {{"RPCFORGE_SERVER_MAX_WORKER", "4"}, {"RPCFORGE_OTHER_THING", "1"}});
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].source, "env RPCFORGE_SERVER_MAX_WORKER");
  EXPECT_THAT(errors[0].message, HasSubstr("did you mean RPCFORGE_SERVER_MAX_WORKERS?"));
}

TEST(ConfigEnvironment, ProcessEnvironmentOverload) {
  setenv("RPCFORGE_DATABASE_PATH", "/tmp/from-env.sqlite3", 1);
  rpcforge::config::v1::Config c;
  auto errors = cfg::ApplyEnvironment(&c);
  unsetenv("RPCFORGE_DATABASE_PATH");
  EXPECT_THAT(errors, IsEmpty());
  EXPECT_EQ(c.database().path(), "/tmp/from-env.sqlite3");
}

// ---------------------------------------------------------------- flags

TEST(ConfigOverride, SetsAKeyByPath) {
  rpcforge::config::v1::Config c;
  EXPECT_THAT(cfg::ApplyOverride(&c, "logging.level", "error"), IsEmpty());
  EXPECT_THAT(cfg::ApplyOverride(&c, "server.address", "0.0.0.0:0"), IsEmpty());
  EXPECT_EQ(c.logging().level(), rpcforge::config::v1::LOG_LEVEL_ERROR);
  EXPECT_EQ(c.server().address(), "0.0.0.0:0");
}

TEST(ConfigOverride, UnknownPathSuggestsTheClosest) {
  rpcforge::config::v1::Config c;
  auto errors = cfg::ApplyOverride(&c, "logging.levle", "info", "flag --x");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].path, "logging.levle");
  EXPECT_EQ(errors[0].source, "flag --x");
  EXPECT_THAT(errors[0].message, HasSubstr("did you mean \"level\"?"));
}

TEST(ConfigOverride, BadValueAndUnsettableKeyAreErrors) {
  rpcforge::config::v1::Config c;
  auto errors = cfg::ApplyOverride(&c, "logging.level", "loud", "flag --log-level");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_EQ(errors[0].ToString(),
            "flag --log-level: logging.level: unknown value \"loud\"; valid values: trace, "
            "debug, info, warn, error, off");
  errors = cfg::ApplyOverride(&c, "rate_limits", "x");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0].message, HasSubstr("only in the config file"));
  errors = cfg::ApplyOverride(&c, "server", "x");
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0].message, HasSubstr("is a section"));
}

TEST(ConfigPrecedence, FileThenEnvironmentThenFlags) {
  TempFile f(
      "server:\n  address: 127.0.0.1:1\n  max_workers: 2\n  max_concurrent_rpcs: 50\n"
      "database:\n  path: file.sqlite3\n");
  cfg::Sources s;
  s.file = f.path();
  s.environment = std::map<std::string, std::string>{{"RPCFORGE_SERVER_MAX_WORKERS", "3"},
                                                     {"RPCFORGE_DATABASE_PATH", "env.sqlite3"}};
  s.overrides.push_back({"database.path", "flag.sqlite3", "flag --database"});
  cfg::LoadResult r = cfg::Load(s);
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(cfg::ListenAddress(r.config), "127.0.0.1:1");  // file
  EXPECT_EQ(cfg::MaxWorkers(r.config), 3);                 // env over file
  EXPECT_EQ(cfg::DatabasePath(r.config), "flag.sqlite3");  // flag over env
  EXPECT_EQ(r.locations.at("database.path").source, "flag --database");
}

TEST(ConfigPrecedence, LoadCollectsErrorsOfEveryStepAndValidates) {
  TempFile f("server:\n  max_workers: 0\n  bogus: 1\n");
  cfg::Sources s;
  s.file = f.path();
  s.environment = std::map<std::string, std::string>{{"RPCFORGE_LOGGING_LEVEL", "loud"}};
  s.overrides.push_back({"server.address", "nope", "flag --address"});
  cfg::LoadResult r = cfg::Load(s);
  EXPECT_THAT(Paths(r.errors),
              ElementsAre("server.bogus", "logging.level", "server.address", "server.max_workers"));
  ASSERT_THAT(r.errors, SizeIs(4));
  EXPECT_EQ(r.errors[2].source, "flag --address");
  EXPECT_EQ(r.errors[3].source, f.path());
  EXPECT_EQ(r.errors[3].line, 2);  // validation error located in the file
}

// ---------------------------------------------------------------- validation

namespace {
std::vector<std::string> ValidatePaths(const std::string& yaml) {
  cfg::LoadResult r = cfg::LoadString(yaml, "c.yaml");
  EXPECT_TRUE(r.ok()) << r.ErrorText();
  return Paths(cfg::Validate(r.config, r.locations));
}
std::string ValidateText(const std::string& yaml) {
  cfg::LoadResult r = cfg::LoadString(yaml, "c.yaml");
  std::string out;
  for (const auto& e : cfg::Validate(r.config, r.locations)) out += e.ToString() + "\n";
  return out;
}
}  // namespace

TEST(ConfigValidate, DefaultConfigIsValid) {
  EXPECT_THAT(cfg::Validate(rpcforge::config::v1::Config()), IsEmpty());
}

TEST(ConfigValidate, ErrorsCarryTheLineOfTheKey) {
  EXPECT_EQ(ValidateText("\nserver:\n  max_workers: 0\n"),
            "c.yaml:3:3: server.max_workers: must be >= 1\n");
}

TEST(ConfigValidate, Address) {
  for (const char* ok : {"127.0.0.1:50051", "[::1]:0", "localhost:65535", "0.0.0.0:0",
                         "unix:/tmp/s.sock", "[::]:1"}) {
    EXPECT_THAT(ValidatePaths(std::string("server: {address: \"") + ok + "\"}\n"), IsEmpty()) << ok;
  }
  for (const char* bad :
       {"nope", "1.2.3.4:", "1.2.3.4:65536", ":80", "[::1:80", "h:-1", "h:8x", "::1:80", "unix:"}) {
    EXPECT_THAT(ValidatePaths(std::string("server: {address: \"") + bad + "\"}\n"),
                ElementsAre("server.address"))
        << bad;
  }
  EXPECT_THAT(ValidateText("server: {address: \"h:70000\"}\n"), HasSubstr("port 70000"));
}

TEST(ConfigValidate, ParseHostPort) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(cfg::ParseHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(cfg::ParseHostPort("example.com:443", &host, &port));
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, 443);
  EXPECT_FALSE(cfg::ParseHostPort("unix:/x", &host, &port));
}

TEST(ConfigValidate, WorkersAndConcurrency) {
  EXPECT_THAT(ValidatePaths("server: {max_workers: 0}\n"), ElementsAre("server.max_workers"));
  EXPECT_THAT(ValidatePaths("server: {max_workers: 8, max_concurrent_rpcs: 4}\n"),
              ElementsAre("server.max_concurrent_rpcs"));
  // Only max_workers set, above the default concurrency: max_workers is to blame.
  EXPECT_THAT(ValidatePaths("server: {max_workers: 2000}\n"), ElementsAre("server.max_workers"));
  EXPECT_THAT(ValidateText("server: {max_workers: 8, max_concurrent_rpcs: 4}\n"),
              HasSubstr("must be >= server.max_workers (8)"));
}

TEST(ConfigValidate, MessageSizesAndKeepalive) {
  EXPECT_THAT(ValidatePaths("server:\n  max_receive_message_bytes: 0\n"
                            "  max_send_message_bytes: -5\n"
                            "  keepalive: {time: 0s, timeout: 0s}\n"),
              ElementsAre("server.max_receive_message_bytes", "server.max_send_message_bytes",
                          "server.keepalive.time", "server.keepalive.timeout"));
}

TEST(ConfigValidate, TlsCombinationsAndFiles) {
  TempFile cert("cert"), key("key"), ca("ca");
  auto tls = [](const std::string& body) { return "server:\n  tls: {" + body + "}\n"; };
  EXPECT_THAT(ValidatePaths(tls("cert_chain_file: " + cert.path() + ", private_key_file: " +
                                key.path() + ", client_ca_file: " + ca.path())),
              IsEmpty());
  EXPECT_THAT(ValidatePaths(tls("private_key_file: " + key.path())),
              ElementsAre("server.tls.private_key_file"));
  EXPECT_THAT(ValidatePaths(tls("cert_chain_file: " + cert.path())),
              ElementsAre("server.tls.cert_chain_file"));
  EXPECT_THAT(ValidatePaths(tls("client_ca_file: " + ca.path())),
              ElementsAre("server.tls.client_ca_file"));
  EXPECT_THAT(ValidatePaths(tls("cert_chain_file: /no/cert.pem, private_key_file: " + key.path())),
              ElementsAre("server.tls.cert_chain_file"));
  EXPECT_THAT(ValidateText(tls("cert_chain_file: /no/cert.pem, private_key_file: " + key.path())),
              HasSubstr("cannot read \"/no/cert.pem\""));
}

TEST(ConfigValidate, DurationsThatMustBePositive) {
  EXPECT_THAT(ValidatePaths("server_status: {heartbeat_interval: 0s}\n"
                            "auth:\n  brute_force_guard: {window: 0s, block_duration: 0s}\n"
                            "database: {busy_timeout: 0s}\n"
                            "request_log: {retention: 0s}\n"),
              ElementsAre("auth.brute_force_guard.window", "auth.brute_force_guard.block_duration",
                          "server_status.heartbeat_interval"));
}

TEST(ConfigValidate, DatabasePoolAndCacheAndLimitsRanges) {
  EXPECT_THAT(ValidatePaths("database: {max_connections: 0, cache_size_kib: 8}\n"
                            "limits: {max_filter_terms: 501, max_filter_length: 0}\n"
                            "auth: {key_cache_ttl: 1s}\n"),
              ElementsAre("database.max_connections", "database.cache_size_kib",
                          "limits.max_filter_length", "limits.max_filter_terms"));
  EXPECT_THAT(ValidatePaths("database: {max_connections: 1, cache_size_kib: 16}\n"
                            "limits: {max_filter_terms: 500}\n"),
              ElementsAre());
}

TEST(ConfigValidate, LogLevelSetProgrammaticallyMustBeKnown) {
  rpcforge::config::v1::Config c;
  c.mutable_logging()->set_level(static_cast<rpcforge::config::v1::LogLevel>(42));
  EXPECT_THAT(Paths(cfg::Validate(c)), ElementsAre("logging.level"));
}

TEST(ConfigValidate, MiddlewaresAndServices) {
  EXPECT_THAT(ValidatePaths("middlewares: [auth, \"\", auth]\n"
                            "enabled_services: [blog.v1.PostService, \"bad name\"]\n"),
              ElementsAre("middlewares[1]", "middlewares[2]", "enabled_services[1]"));
  EXPECT_THAT(ValidateText("middlewares: [auth, auth]\n"), HasSubstr("c.yaml:1:21"));
}

TEST(ConfigValidate, Auth) {
  EXPECT_THAT(ValidatePaths("auth:\n  accept_secret_key: true\n"), ElementsAre("secret_key"));
  EXPECT_THAT(ValidatePaths("secret_key: short\nauth:\n  accept_secret_key: true\n"),
              ElementsAre("secret_key"));
  EXPECT_THAT(ValidatePaths("secret_key: 0123456789abcdef0123456789abcdef\n"
                            "auth:\n  accept_secret_key: true\n"),
              IsEmpty());
  EXPECT_THAT(ValidatePaths("auth:\n  require_auth_overrides: {\"a.B/\": true, a.B/C: false}\n"
                            "  public_methods: [a.B/C, \"/a.B/C\"]\n"),
              ElementsAre("auth.require_auth_overrides[\"a.B/\"]", "auth.public_methods[1]"));
}

TEST(ConfigValidate, RequestLog) {
  EXPECT_THAT(ValidatePaths("request_log: {queue_size: 0}\n"),
              ElementsAre("request_log.queue_size"));
  EXPECT_THAT(ValidatePaths("request_log: {queue_size: 10, batch_size: 20}\n"),
              ElementsAre("request_log.batch_size"));
  EXPECT_THAT(ValidatePaths("request_log: {batch_size: 0}\n"),
              ElementsAre("request_log.batch_size"));
  // The default batch size (1000) never exceeds a smaller queue: it follows it.
  EXPECT_THAT(ValidatePaths("request_log: {queue_size: 10}\n"), IsEmpty());
  rpcforge::config::v1::Config small;
  small.mutable_request_log()->set_queue_size(10);
  EXPECT_EQ(cfg::RequestLogBatchSize(small), 10);
}

TEST(ConfigValidate, RateLimitRules) {
  EXPECT_THAT(ValidatePaths(R"(rate_limits:
  - {methods: [a.B/C], max_calls: 1, period: 1s, key: "metadata:x-user"}
  - {methods: [a.B], max_calls: 1, period: 1s, key: "request:author.id"}
  - {methods: [], max_calls: 0, period: 0s, key: "cookie"}
  - {methods: [a.B/C], max_calls: 1}
  - {methods: ["a B"], max_calls: 1, period: 1s, key: "metadata:"}
  - {methods: [a.B/C], max_calls: 1, period: 1s, key: "request:a..b"}
)"),
              ElementsAre("rate_limits[2].methods", "rate_limits[2].max_calls",
                          "rate_limits[2].period", "rate_limits[2].key", "rate_limits[3].period",
                          "rate_limits[4].methods[0]", "rate_limits[4].key", "rate_limits[5].key"));
  EXPECT_THAT(ValidateText("rate_limits:\n  - {methods: [a.B], max_calls: 1, period: 1s, "
                           "key: cookie}\n"),
              HasSubstr("valid kinds: peer, user, metadata:NAME, request:dot.path"));
  EXPECT_THAT(ValidateText("rate_limits:\n  - {methods: [a.B], max_calls: 1, period: 0s}\n"),
              HasSubstr("c.yaml:2:36: rate_limits[0].period: must be > 0"));
}

TEST(ConfigValidate, RateLimitGroupsMustAgree) {
  EXPECT_THAT(ValidatePaths(R"(rate_limits:
  - {methods: [a.B/C], group: g, max_calls: 5, period: 1s}
  - {methods: [a.B/D], group: g, max_calls: 5, period: 1s}
  - {methods: [a.B/E], group: g, max_calls: 6, period: 1s}
)"),
              ElementsAre("rate_limits[2].group"));
}

TEST(ConfigValidate, SignatureCheckNeedsItsMiddlewareAndSaneMetadata) {
  // The default chain includes it; an explicit chain must list it.
  EXPECT_THAT(ValidatePaths("signature_check: {metadata: {x-sig: abc}}\n"), ElementsAre());
  EXPECT_THAT(ValidatePaths("middlewares: [signals, auth]\n"
                            "signature_check: {metadata: {x-sig: abc}}\n"),
              ElementsAre("middlewares"));
  EXPECT_THAT(
      ValidatePaths("middlewares: [signature_check]\n"
                    "signature_check: {metadata: {X-Sig: abc, x-b: \"\"}}\n"),
      ElementsAre("signature_check.metadata[\"X-Sig\"]", "signature_check.metadata[\"x-b\"]"));
}

// ---------------------------------------------------------------- accessors

TEST(ConfigAccessors, DefaultsOfAnEmptyConfig) {
  rpcforge::config::v1::Config c;
  using std::chrono::milliseconds;
  EXPECT_EQ(cfg::ListenAddress(c), "127.0.0.1:50051");
  EXPECT_EQ(cfg::MaxWorkers(c), 16);
  EXPECT_EQ(cfg::MaxConcurrentRpcs(c), 1000);
  EXPECT_EQ(cfg::ShutdownGrace(c), milliseconds(10000));
  EXPECT_EQ(cfg::MaxReceiveMessageBytes(c), 4 * 1024 * 1024);
  EXPECT_EQ(cfg::MaxSendMessageBytes(c), -1);
  EXPECT_EQ(cfg::KeepaliveTime(c), milliseconds(2 * 3600 * 1000));
  EXPECT_EQ(cfg::KeepaliveTimeout(c), milliseconds(20000));
  EXPECT_FALSE(cfg::KeepalivePermitWithoutCalls(c));
  EXPECT_FALSE(cfg::TlsEnabled(c));
  EXPECT_FALSE(cfg::MutualTls(c));
  EXPECT_TRUE(cfg::ReflectionEnabled(c));
  EXPECT_TRUE(cfg::HealthEnabled(c));
  EXPECT_EQ(cfg::LoggingLevel(c), rpcforge::log::Level::kInfo);
  EXPECT_EQ(cfg::LoggingFormat(c), rpcforge::log::Format::kText);
  EXPECT_EQ(cfg::DatabasePath(c), "rpcforge.sqlite3");
  EXPECT_EQ(cfg::DatabaseBusyTimeout(c), milliseconds(5000));
  EXPECT_THAT(cfg::Middlewares(c), ElementsAre("max_concurrency", "signals", "request_logging",
                                               "signature_check", "auth", "rate_limit"));
  EXPECT_TRUE(cfg::ServiceEnabled(c, "any.Service"));
  EXPECT_FALSE(cfg::RequireAuth(c, "a.B", "C"));
  EXPECT_FALSE(cfg::IsPublicMethod(c, "a.B", "C"));
  EXPECT_EQ(cfg::BruteForceMaxFailures(c), 10);
  EXPECT_EQ(cfg::BruteForceWindow(c), milliseconds(60000));
  EXPECT_EQ(cfg::BruteForceBlockDuration(c), milliseconds(300000));
  EXPECT_TRUE(cfg::RequestLogEnabled(c));
  EXPECT_EQ(cfg::RequestLogQueueSize(c), 10000);
  EXPECT_EQ(cfg::RequestLogBatchSize(c), 1000);
  EXPECT_EQ(cfg::RequestLogRetention(c), milliseconds(30LL * 24 * 3600 * 1000));
  EXPECT_EQ(cfg::HeartbeatInterval(c), milliseconds(30000));
}

TEST(ConfigAccessors, ExplicitValuesWin) {
  cfg::LoadResult r = cfg::LoadString(R"(
server:
  address: "[::]:9000"
  max_workers: 2
  max_concurrent_rpcs: 3
  shutdown_grace_period: 250ms
  max_receive_message_bytes: 100
  max_send_message_bytes: 200
  keepalive: {time: 1m, timeout: 5s, permit_without_calls: true}
  tls: {cert_chain_file: c, private_key_file: k, client_ca_file: ca}
  reflection: false
  health: false
logging: {level: trace, format: json}
database: {path: ":memory:", busy_timeout: 1s}
middlewares: [auth]
enabled_services: [a.B]
auth:
  require_auth: true
  require_auth_overrides: {a.B: false, a.B/Secret: true}
  public_methods: [a.P, a.B/Ping]
  brute_force_guard: {max_failures: 0, window: 2s, block_duration: 3s}
request_log: {enabled: false, queue_size: 5, batch_size: 2, retention: 0s}
server_status: {heartbeat_interval: 1s}
)",
                                      "c.yaml");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const auto& c = r.config;
  using std::chrono::milliseconds;
  EXPECT_EQ(cfg::ListenAddress(c), "[::]:9000");
  EXPECT_EQ(cfg::MaxWorkers(c), 2);
  EXPECT_EQ(cfg::MaxConcurrentRpcs(c), 3);
  EXPECT_EQ(cfg::ShutdownGrace(c), milliseconds(250));
  EXPECT_EQ(cfg::MaxReceiveMessageBytes(c), 100);
  EXPECT_EQ(cfg::MaxSendMessageBytes(c), 200);
  EXPECT_EQ(cfg::KeepaliveTime(c), milliseconds(60000));
  EXPECT_EQ(cfg::KeepaliveTimeout(c), milliseconds(5000));
  EXPECT_TRUE(cfg::KeepalivePermitWithoutCalls(c));
  EXPECT_TRUE(cfg::TlsEnabled(c));
  EXPECT_TRUE(cfg::MutualTls(c));
  EXPECT_FALSE(cfg::ReflectionEnabled(c));
  EXPECT_FALSE(cfg::HealthEnabled(c));
  EXPECT_EQ(cfg::LoggingLevel(c), rpcforge::log::Level::kTrace);
  EXPECT_EQ(cfg::LoggingFormat(c), rpcforge::log::Format::kJson);
  EXPECT_EQ(cfg::DatabasePath(c), ":memory:");
  EXPECT_EQ(cfg::DatabaseBusyTimeout(c), milliseconds(1000));
  EXPECT_THAT(cfg::Middlewares(c), ElementsAre("auth"));
  EXPECT_TRUE(cfg::ServiceEnabled(c, "a.B"));
  EXPECT_FALSE(cfg::ServiceEnabled(c, "a.C"));
  EXPECT_TRUE(cfg::RequireAuth(c, "x.Y", "Z"));       // server default
  EXPECT_FALSE(cfg::RequireAuth(c, "a.B", "List"));   // service override
  EXPECT_TRUE(cfg::RequireAuth(c, "a.B", "Secret"));  // method override wins
  EXPECT_TRUE(cfg::IsPublicMethod(c, "a.P", "Anything"));
  EXPECT_TRUE(cfg::IsPublicMethod(c, "a.B", "Ping"));
  EXPECT_FALSE(cfg::IsPublicMethod(c, "a.B", "Pong"));
  EXPECT_EQ(cfg::BruteForceMaxFailures(c), 0);
  EXPECT_EQ(cfg::BruteForceWindow(c), milliseconds(2000));
  EXPECT_EQ(cfg::BruteForceBlockDuration(c), milliseconds(3000));
  EXPECT_FALSE(cfg::RequestLogEnabled(c));
  EXPECT_EQ(cfg::RequestLogQueueSize(c), 5);
  EXPECT_EQ(cfg::RequestLogBatchSize(c), 2);
  EXPECT_EQ(cfg::RequestLogRetention(c), milliseconds(0));
  EXPECT_EQ(cfg::HeartbeatInterval(c), milliseconds(1000));
}

TEST(ConfigAccessors, EveryLogLevelMapsToTheLogModule) {
  cfg::LoadResult r = cfg::LoadString("logging: {level: off}\n", "c.yaml");
  EXPECT_EQ(cfg::LoggingLevel(r.config), rpcforge::log::Level::kOff);
  r = cfg::LoadString("logging: {level: warn}\n", "c.yaml");
  EXPECT_EQ(cfg::LoggingLevel(r.config), rpcforge::log::Level::kWarn);
}

TEST(ConfigAccessors, SignatureCheckIsInTheDefaultChainBeforeAuth) {
  const auto& chain = cfg::DefaultMiddlewares();
  auto sig = std::find(chain.begin(), chain.end(), "signature_check");
  auto auth = std::find(chain.begin(), chain.end(), "auth");
  ASSERT_NE(sig, chain.end());
  EXPECT_LT(sig, auth);
}

TEST(ConfigAccessors, ParseRateLimitKey) {
  cfg::RateLimitKey k;
  ASSERT_TRUE(cfg::ParseRateLimitKey("", &k));
  EXPECT_EQ(k.kind, cfg::RateLimitKey::Kind::kPeer);
  ASSERT_TRUE(cfg::ParseRateLimitKey("user", &k));
  EXPECT_EQ(k.kind, cfg::RateLimitKey::Kind::kUser);
  ASSERT_TRUE(cfg::ParseRateLimitKey("metadata:x-api-key", &k));
  EXPECT_EQ(k.kind, cfg::RateLimitKey::Kind::kMetadata);
  EXPECT_EQ(k.argument, "x-api-key");
  ASSERT_TRUE(cfg::ParseRateLimitKey("request:author.id", &k));
  EXPECT_EQ(k.kind, cfg::RateLimitKey::Kind::kRequest);
  EXPECT_EQ(k.argument, "author.id");
  EXPECT_FALSE(cfg::ParseRateLimitKey("cookie", &k));
  EXPECT_FALSE(cfg::ParseRateLimitKey("request:", &k));
  EXPECT_FALSE(cfg::ParseRateLimitKey("request:.a", &k));
}

// ---------------------------------------------------------------- documentation

TEST(ConfigDocs, ExampleFileLoadsValidatesAndShowsEveryKey) {
  const std::string path = std::string(RPCFORGE_SOURCE_DIR) + "/docs/examples/config.yaml";
  cfg::Sources s;
  s.file = path;
  s.environment = std::map<std::string, std::string>{};
  cfg::LoadResult r = cfg::Load(s);
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  std::set<std::string> shown;  // "rate_limits[2].key" -> "rate_limits[].key"
  for (const auto& [p, pos] : r.locations) {
    std::string q = std::regex_replace(p, std::regex(R"(\[\d+\])"), "[]");
    shown.insert(std::regex_replace(q, std::regex(R"(\["[^"]*"\])"), ""));
  }
  std::vector<std::string> paths;
  CollectPaths(rpcforge::config::v1::Config::descriptor(), "", &paths);
  for (const auto& p : paths) {
    EXPECT_EQ(shown.count(p), 1u) << "docs/examples/config.yaml does not show " << p;
  }
}

TEST(ConfigDocs, ReferenceDocumentsEveryKeyAndVariable) {
  const std::string doc = rpcforge::strings::ReadSourceFile("docs/configuration.md");
  ASSERT_FALSE(doc.empty());
  std::vector<std::string> paths;
  CollectPaths(rpcforge::config::v1::Config::descriptor(), "", &paths);
  ASSERT_GT(paths.size(), 40u);
  for (const auto& p : paths) {
    EXPECT_THAT(doc, HasSubstr("`" + p + "`")) << "docs/configuration.md lacks " << p;
  }
  for (const auto& p : cfg::SettablePaths()) {
    EXPECT_THAT(doc, HasSubstr(cfg::EnvironmentVariableName(p)));
  }
  // The page shows the example file verbatim.
  const std::string example = rpcforge::strings::ReadSourceFile("docs/examples/config.yaml");
  ASSERT_FALSE(example.empty());
  EXPECT_THAT(doc, HasSubstr("```yaml\n" + example + "```"));
}

TEST(ConfigDocs, EveryProtoFieldAndEnumValueHasAComment) {
  const std::string proto =
      rpcforge::strings::ReadSourceFile("proto/rpcforge/config/v1/config.proto");
  ASSERT_FALSE(proto.empty());
  std::istringstream in(proto);
  std::string line, previous;
  const std::regex field(R"(^\s+[A-Za-z_][\w.<>, ]*\s+\w+\s*=\s*\d+;)");
  const std::regex enum_value(R"(^\s+[A-Z][A-Z0-9_]*\s*=\s*\d+;)");
  int fields = 0, values = 0;
  while (std::getline(in, line)) {
    bool is_field = std::regex_search(line, field);
    bool is_value = std::regex_search(line, enum_value);
    fields += is_field;
    values += is_value;
    if (is_field || is_value) {
      EXPECT_THAT(previous, testing::MatchesRegex(R"(\s*//.*)")) << "undocumented: " << line;
    }
    previous = line;
  }
  // The regexes saw every field and enum value the descriptors know.
  const auto* file = rpcforge::config::v1::Config::descriptor()->file();
  int want_fields = 0, want_values = 0;
  for (int i = 0; i < file->message_type_count(); ++i) {
    want_fields += file->message_type(i)->field_count();
  }
  for (int i = 0; i < file->enum_type_count(); ++i) {
    want_values += file->enum_type(i)->value_count();
  }
  EXPECT_EQ(fields, want_fields);
  EXPECT_EQ(values, want_values);
}

TEST(ConfigDocs, EnumValuesFollowThePrefixConvention) {
  // The loader maps `info` to LOG_LEVEL_INFO by stripping the enum's UPPER_SNAKE name.
  const std::pair<const google::protobuf::EnumDescriptor*, std::string> enums[] = {
      {rpcforge::config::v1::LogLevel_descriptor(), "LOG_LEVEL_"},
      {rpcforge::config::v1::LogFormat_descriptor(), "LOG_FORMAT_"}};
  for (const auto& [e, prefix] : enums) {
    EXPECT_EQ(e->value(0)->name(), prefix + "UNSPECIFIED");
    EXPECT_EQ(e->value(0)->number(), 0);
    for (int i = 0; i < e->value_count(); ++i) {
      EXPECT_EQ(e->value(i)->name().rfind(prefix, 0), 0u) << e->value(i)->name();
    }
  }
}
