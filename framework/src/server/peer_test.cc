// SPDX-License-Identifier: Apache-2.0
// The peer parser behind the request log, the rate limiter and the brute-force guard.
#include "rpcforge/server/peer.h"

#include <gtest/gtest.h>

using rpcforge::ParsePeer;
using rpcforge::PeerWithoutPort;

TEST(Peer, ParsesIpv4Ipv6AndEncodedPeers) {
  auto v4 = ParsePeer("ipv4:1.2.3.4:5");
  EXPECT_EQ(v4.transport, "ipv4");
  EXPECT_EQ(v4.host, "1.2.3.4");
  EXPECT_EQ(v4.port, 5);

  auto v6 = ParsePeer("ipv6:[::1]:50051");
  EXPECT_EQ(v6.transport, "ipv6");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 50051);

  auto encoded = ParsePeer("ipv6:%5B::1%5D:5");
  EXPECT_EQ(encoded.transport, "ipv6");
  EXPECT_EQ(encoded.host, "::1");
  EXPECT_EQ(encoded.port, 5);

  auto full = ParsePeer("ipv6:%5B2001:db8::7%5D:65535");
  EXPECT_EQ(full.host, "2001:db8::7");
  EXPECT_EQ(full.port, 65535);

  auto unix_peer = ParsePeer("unix:/tmp/s.sock");
  EXPECT_EQ(unix_peer.transport, "unix");
  EXPECT_EQ(unix_peer.host, "/tmp/s.sock");
  EXPECT_FALSE(unix_peer.port.has_value());

  EXPECT_EQ(ParsePeer("inproc").transport, "inproc");
  EXPECT_FALSE(ParsePeer("inproc").port.has_value());

  auto bad_port = ParsePeer("ipv4:1.2.3.4:99999");
  EXPECT_FALSE(bad_port.port.has_value());
  auto junk = ParsePeer("something odd");
  EXPECT_EQ(junk.transport, "");
  EXPECT_EQ(junk.host, "something odd");
}

TEST(Peer, WithoutPortDropsOnlyThePort) {
  EXPECT_EQ(PeerWithoutPort("ipv4:10.0.0.7:5555"), "ipv4:10.0.0.7");
  EXPECT_EQ(PeerWithoutPort("ipv6:[::1]:5555"), "ipv6:[::1]");
  EXPECT_EQ(PeerWithoutPort("ipv6:%5B::1%5D:5555"), "ipv6:%5B::1%5D");
  EXPECT_EQ(PeerWithoutPort("inproc"), "inproc");
  EXPECT_EQ(PeerWithoutPort("unix:/tmp/s"), "unix:/tmp/s");
}

TEST(Peer, WithoutPortKeepsIpv6AddressesWhole) {
  EXPECT_EQ(PeerWithoutPort("ipv4:10.0.0.1:5555"), "ipv4:10.0.0.1");
  EXPECT_EQ(PeerWithoutPort("ipv6:[::1]:5555"), "ipv6:[::1]");
  EXPECT_EQ(PeerWithoutPort("ipv6:[2001:db8::7]:443"), "ipv6:[2001:db8::7]");
  EXPECT_EQ(PeerWithoutPort("ipv6:%5B::1%5D:1"), "ipv6:%5B::1%5D");
  EXPECT_EQ(PeerWithoutPort("inproc"), "inproc");
  EXPECT_EQ(PeerWithoutPort("unix:/tmp/sock"), "unix:/tmp/sock");
}
