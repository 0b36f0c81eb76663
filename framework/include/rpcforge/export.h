// SPDX-License-Identifier: Apache-2.0
// RPCFORGE_EXPORT marks the symbols the framework libraries export when they are built
// as shared libraries with hidden visibility; static builds leave it empty.
#ifndef RPCFORGE_EXPORT_H_
#define RPCFORGE_EXPORT_H_

#if defined(RPCFORGE_SHARED_LIBRARY) && defined(__GNUC__)
#define RPCFORGE_EXPORT __attribute__((visibility("default")))
#else
#define RPCFORGE_EXPORT
#endif

#endif  // RPCFORGE_EXPORT_H_
