// SPDX-License-Identifier: Apache-2.0
// rpcforge::InputLimits bounds what one request may ask of the server, so that every
// input costs work linear in its size and no more than the operator allows: the
// length and number of terms of a List `filter`, the fields of an `order_by`, the
// length of a `page_token`, the paths of an `update_mask`. The server reads them from
// the config's `limits` section and hands them to every call (`Context::limits()`);
// exceeding one is INVALID_ARGUMENT naming the limit and its config key.
//
//   const rpcforge::InputLimits& limits = ctx.limits();
//   if (filter.size() > limits.max_filter_length) throw rpcforge::InvalidArgument(...);
#ifndef RPCFORGE_LIMITS_H_
#define RPCFORGE_LIMITS_H_

#include <cstddef>

namespace rpcforge {

// InputLimits is a plain value, copyable and thread-compatible. The defaults are the
// config's defaults (docs/configuration.md, `limits`).
struct InputLimits {
  // Longest `filter` text, in bytes (`limits.max_filter_length`).
  size_t max_filter_length = 2048;
  // Most comparisons in one `filter` (`limits.max_filter_terms`). The config allows
  // at most 500, well inside SQLite's expression depth of 1000.
  size_t max_filter_terms = 32;
  // Most fields in one `order_by` (`limits.max_order_by_fields`).
  size_t max_order_by_fields = 8;
  // Longest `page_token`, in bytes (`limits.max_page_token_length`).
  size_t max_page_token_length = 64;
  // Most paths in one `update_mask` (`limits.max_update_mask_paths`).
  size_t max_update_mask_paths = 64;

  // Default returns the defaults (a process-wide constant).
  static const InputLimits& Default();
};

}  // namespace rpcforge

#endif  // RPCFORGE_LIMITS_H_
