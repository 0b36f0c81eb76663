// SPDX-License-Identifier: Apache-2.0
#include "rpcforge/server/peer.h"

#include <algorithm>
#include <cctype>

namespace rpcforge {
namespace {

std::optional<int> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// gRPC URL-encodes some peers ("ipv6:%5B::1%5D:5"); a malformed escape stays as is.
std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// Splits "host:port" or "[v6]:port" (or an unbracketed v6 "a::b:port").
void SplitHostPort(const std::string& address, PeerAddress* out) {
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) {
      out->host = address;
      return;
    }
    out->host = address.substr(1, close - 1);
    if (close + 1 < address.size() && address[close + 1] == ':') {
      out->port = ParsePort(std::string_view(address).substr(close + 2));
    }
    return;
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    out->host = address;
    return;
  }
  out->host = address.substr(0, colon);
  out->port = ParsePort(std::string_view(address).substr(colon + 1));
  if (!out->port) out->host = address;
}

}  // namespace

PeerAddress ParsePeer(std::string_view peer) {
  PeerAddress out;
  size_t colon = peer.find(':');
  std::string_view scheme = colon == std::string_view::npos ? peer : peer.substr(0, colon);
  std::string_view rest =
      colon == std::string_view::npos ? std::string_view() : peer.substr(colon + 1);
  if (scheme == "ipv4" || scheme == "ipv6") {
    out.transport = std::string(scheme);
    SplitHostPort(PercentDecode(rest), &out);
  } else if (scheme == "unix" || scheme == "unix-abstract") {
    out.transport = std::string(scheme);
    out.host = PercentDecode(rest);
  } else if (scheme == "inproc") {
    out.transport = "inproc";
  } else {
    out.host = std::string(peer);
  }
  return out;
}

std::string PeerWithoutPort(std::string_view peer) {
  auto strip_port = [&](size_t colon) {
    std::string_view port = peer.substr(colon + 1);
    bool digits = !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c));
    });
    return digits ? std::string(peer.substr(0, colon)) : std::string(peer);
  };
  if (peer.rfind("ipv4:", 0) == 0) {
    size_t colon = peer.rfind(':');
    return colon > 4 ? strip_port(colon) : std::string(peer);
  }
  if (peer.rfind("ipv6:", 0) == 0) {
    for (std::string_view close : {"]:", "%5D:", "%5d:"}) {
      size_t at = peer.rfind(close);
      if (at != std::string_view::npos) return strip_port(at + close.size() - 1);
    }
  }
  return std::string(peer);
}

}  // namespace rpcforge
