// SPDX-License-Identifier: Apache-2.0
// The client address gRPC reports as a call's peer ("ipv4:1.2.3.4:5555",
// "ipv6:[::1]:5555", the URL-encoded "ipv6:%5B::1%5D:5555", "unix:/path", "inproc"),
// taken apart once for everything that keys on it: the request log, the rate limiter
// and the brute-force guard.
//
//   rpcforge::PeerAddress p = rpcforge::ParsePeer(ctx.peer());   // p.host == "::1"
//   std::string key = rpcforge::PeerWithoutPort(ctx.peer());     // "ipv6:[::1]"
#ifndef RPCFORGE_SERVER_PEER_H_
#define RPCFORGE_SERVER_PEER_H_

#include <optional>
#include <string>
#include <string_view>

#include "rpcforge/export.h"

namespace rpcforge {

// PeerAddress is a transport peer string taken apart.
struct PeerAddress {
  std::string transport;    // "ipv4", "ipv6", "unix", "inproc", ... ("" when unknown)
  std::string host;         // "1.2.3.4", "::1" (no brackets), a unix path, or ""
  std::optional<int> port;  // absent for unix, inproc and malformed ports
};

// ParsePeer parses gRPC's peer forms: "ipv4:1.2.3.4:5", "ipv6:[::1]:5", the URL-encoded
// "ipv6:%5B::1%5D:5", "unix:/path" and "inproc". Never throws: an unrecognized text
// comes back with an empty transport and the whole text as the host. Thread-safe.
RPCFORGE_EXPORT PeerAddress ParsePeer(std::string_view peer);

// PeerWithoutPort is the peer string without its port, as written
// ("ipv4:1.2.3.4:5" -> "ipv4:1.2.3.4", "ipv6:[::1]:5" -> "ipv6:[::1]",
// "ipv6:%5B::1%5D:5" -> "ipv6:%5B::1%5D"); other forms ("inproc", "unix:/p") are
// returned whole. One client address = one key, whatever connection it uses.
RPCFORGE_EXPORT std::string PeerWithoutPort(std::string_view peer);

}  // namespace rpcforge

#endif  // RPCFORGE_SERVER_PEER_H_
