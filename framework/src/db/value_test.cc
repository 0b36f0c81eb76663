// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/db/value.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rpcforge/errors.h"

namespace {

using ::rpcforge::db::Blob;
using ::rpcforge::db::Row;
using ::rpcforge::db::Value;

}  // namespace

TEST(Value, TypesFromConstructors) {
  EXPECT_EQ(Value().type(), Value::Type::kNull);
  EXPECT_EQ(Value(nullptr).type(), Value::Type::kNull);
  EXPECT_EQ(Value(3).type(), Value::Type::kInt);
  EXPECT_EQ(Value(uint16_t{3}).type(), Value::Type::kInt);
  EXPECT_EQ(Value(2.5).type(), Value::Type::kDouble);
  EXPECT_EQ(Value(true).type(), Value::Type::kBool);
  EXPECT_EQ(Value("x").type(), Value::Type::kText);
  EXPECT_EQ(Value(std::string("x")).type(), Value::Type::kText);
  EXPECT_EQ(Value(Blob{1}).type(), Value::Type::kBlob);
  EXPECT_EQ(Value(rpcforge::Clock::TimePoint{}).type(), Value::Type::kTime);
}

TEST(Value, AccessorsConvertOnlyWhenMeaningful) {
  EXPECT_EQ(Value(true).AsInt(), 1);
  EXPECT_EQ(Value(4).AsDouble(), 4.0);
  EXPECT_TRUE(Value(1).AsBool());
  EXPECT_THROW(Value("1").AsInt(), rpcforge::InvalidArgument);
  EXPECT_THROW(Value(1.5).AsInt(), rpcforge::InvalidArgument);
  EXPECT_THROW(Value().AsText(), rpcforge::InvalidArgument);
  rpcforge::Clock::TimePoint t;
  ASSERT_TRUE(rpcforge::ParseTimestamp("2026-11-22T04:21:45.123456Z", &t));
  EXPECT_EQ(Value("2026-11-22T04:21:45.123456Z").AsTime(), t);
  EXPECT_THROW(Value("yesterday").AsTime(), rpcforge::InvalidArgument);
}

TEST(Value, ToStringAndEquality) {
  EXPECT_EQ(Value().ToString(), "NULL");
  EXPECT_EQ(Value(42).ToString(), "42");
  EXPECT_EQ(Value("a").ToString(), "'a'");
  EXPECT_EQ(Value(Blob{0x0a, 0xff}).ToString(), "x'0aff'");
  EXPECT_EQ(Value(false).ToString(), "false");
  EXPECT_EQ(Value(1), Value(int64_t{1}));
  EXPECT_NE(Value(1), Value(true));  // different types
  EXPECT_NE(Value(1), Value(1.0));
}

TEST(Row, AccessByNameAndSet) {
  auto cols =
      std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"id", "name"});
  Row row(cols, {Value(1), Value("a")});
  EXPECT_EQ(row["name"].AsText(), "a");
  EXPECT_TRUE(row.Has("id"));
  EXPECT_FALSE(row.Has("x"));
  EXPECT_THROW(row["x"], rpcforge::InvalidArgument);
  Row copy = row;
  copy.Set("x", Value(2));
  copy.Set("name", Value("b"));
  EXPECT_EQ(copy.ToString(), "{id=1, name='b', x=2}");
  EXPECT_EQ(row.ToString(), "{id=1, name='a'}");  // the shared column list is untouched
}
