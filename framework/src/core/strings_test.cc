// SPDX-License-Identifier: Apache-2.0
#include "core/strings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

using rpcforge::strings::ClosestMatch;
using rpcforge::strings::EditDistance;

TEST(Strings, TrimLowerJoin) {
  EXPECT_EQ(rpcforge::strings::Trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(rpcforge::strings::Trim("   "), "");
  EXPECT_EQ(rpcforge::strings::Lower("MaxWorkers-9"), "maxworkers-9");
  EXPECT_EQ(rpcforge::strings::Join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(rpcforge::strings::Join({"a"}, "|"), "a");
  EXPECT_EQ(rpcforge::strings::Join({}, "|"), "");
}

TEST(Strings, EditDistanceIgnoresCase) {
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("Retrieve", "retrieve"), 0u);
  EXPECT_EQ(EditDistance("Retreive", "Retrieve"), 2u);
}

// Within max(2, |word| / 3) edits, the nearest wins; further than that, nothing.
TEST(Strings, ClosestMatchSuggestsOnlyLikelyTypos) {
  const std::vector<std::string> names = {"max_workers", "address", "reflection"};
  EXPECT_EQ(ClosestMatch("max_worker", names), "max_workers");
  EXPECT_EQ(ClosestMatch("ADRESS", names), "address");
  EXPECT_EQ(ClosestMatch("timeout", names), "");
  EXPECT_EQ(ClosestMatch("ab", {"xy"}), "xy");  // 2 edits: the floor of the bound
  EXPECT_EQ(ClosestMatch("ab", {"xyz"}), "");   // 3 edits
  EXPECT_EQ(ClosestMatch("anything", {}), "");
}

TEST(Strings, ReadFileReadsBytesOrSaysItCannot) {
  const auto path = std::filesystem::temp_directory_path() / "rpcforge_strings_test.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string("a\0b\n", 4);
  }
  std::string text;
  ASSERT_TRUE(rpcforge::strings::ReadFile(path.string(), &text));
  EXPECT_EQ(text, std::string("a\0b\n", 4));
  std::filesystem::remove(path);
  text = "kept";
  EXPECT_FALSE(rpcforge::strings::ReadFile(path.string(), &text));
  EXPECT_EQ(text, "kept");
}

}  // namespace
