// SPDX-License-Identifier: Apache-2.0
// ReadSourceFile, for the tests that check docs and examples against the code: the
// text of a file of the source tree (RPCFORGE_SOURCE_DIR, which their CMake target
// defines). A file that cannot be read is a test failure. Not installed.
#ifndef RPCFORGE_SRC_CORE_SOURCE_FILE_FOR_TESTS_H_
#define RPCFORGE_SRC_CORE_SOURCE_FILE_FOR_TESTS_H_

#include <gtest/gtest.h>

#include <string>

#include "core/strings.h"

namespace rpcforge::strings {

// ReadSourceFile returns the text of `relative` (e.g. "docs/security.md"), or "" with a
// test failure when it cannot be read.
inline std::string ReadSourceFile(const std::string& relative) {
  std::string text;
  EXPECT_TRUE(ReadFile(std::string(RPCFORGE_SOURCE_DIR) + "/" + relative, &text))
      << "cannot read " << relative;
  return text;
}

}  // namespace rpcforge::strings

#endif  // RPCFORGE_SRC_CORE_SOURCE_FILE_FOR_TESTS_H_
