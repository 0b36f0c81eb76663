// SPDX-License-Identifier: Apache-2.0
// Small string and file helpers shared by the framework's modules (not installed).
#ifndef RPCFORGE_CORE_STRINGS_H_
#define RPCFORGE_CORE_STRINGS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rpcforge::strings {

// Trim removes ASCII whitespace at both ends.
std::string_view Trim(std::string_view s);

// Lower returns `s` with ASCII letters lower-cased.
std::string Lower(std::string_view s);

// Join concatenates `items` with `sep` between them.
std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ");

// EditDistance is the Levenshtein distance between `a` and `b`, ignoring ASCII case.
size_t EditDistance(std::string_view a, std::string_view b);

// ClosestMatch returns the candidate nearest to `word` (EditDistance), or "" when none
// is within max(2, |word| / 3) edits, so unlikely to be a typo of it.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// ReadFile reads the whole file at `path` into `*out`; false (with errno set) when it
// cannot be opened or read.
bool ReadFile(const std::string& path, std::string* out);

}  // namespace rpcforge::strings

#endif  // RPCFORGE_CORE_STRINGS_H_
