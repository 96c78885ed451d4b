// Address and transport parsing: known inputs, exact outputs and errors.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <string>

#include "lab/transport.h"

namespace tpk::lab {
namespace {

std::string parsed(Transport t, const std::string& text) {
    auto a = parse_address(t, text);
    return a ? a->to_string() : "error: " + a.error().message();
}

std::string error_of(Transport t, const std::string& text) {
    auto a = parse_address(t, text);
    return a ? "ok: " + a->to_string() : a.error().message();
}

TEST(ParseTransport, EveryNameRoundTrips) {
    for (Transport t : kAllTransports) {
        auto parsed_t = parse_transport(transport_name(t));
        ASSERT_TRUE(parsed_t.ok()) << transport_name(t);
        EXPECT_EQ(*parsed_t, t);
    }
    EXPECT_EQ(transport_names(), "tcp, tcp6, udp, udp6, unix, unix-dgram, unix-seqpacket");
}

TEST(ParseTransport, UnknownNameListsTheValidOnes) {
    auto t = parse_transport("sctp");
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().message(),
              "unknown transport 'sctp' (valid: tcp, tcp6, udp, udp6, unix, unix-dgram, "
              "unix-seqpacket)");
    EXPECT_FALSE(parse_transport("TCP").ok());
    EXPECT_FALSE(parse_transport("").ok());
}

TEST(ParseAddress, Ipv4) {
    auto a = parse_address(Transport::tcp, "127.0.0.1:8080");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->family(), AF_INET);
    EXPECT_EQ(a->length, sizeof(sockaddr_in));
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&a->storage);
    EXPECT_EQ(ntohs(sin->sin_port), 8080);
    EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0x7f000001u);
    EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
    EXPECT_EQ(parsed(Transport::udp, "10.1.2.3:53"), "10.1.2.3:53");
    EXPECT_EQ(parsed(Transport::tcp, "0.0.0.0:0"), "0.0.0.0:0");
    EXPECT_EQ(parsed(Transport::tcp, "127.0.0.1:65535"), "127.0.0.1:65535");
}

TEST(ParseAddress, BarePortMeansLoopback) {
    EXPECT_EQ(parsed(Transport::tcp, "8080"), "127.0.0.1:8080");
    EXPECT_EQ(parsed(Transport::udp, "0"), "127.0.0.1:0");
    EXPECT_EQ(parsed(Transport::tcp6, "9000"), "[::1]:9000");
    EXPECT_EQ(parsed(Transport::udp6, "53"), "[::1]:53");
}

TEST(ParseAddress, Ipv6) {
    auto a = parse_address(Transport::tcp6, "[::1]:9000");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->family(), AF_INET6);
    EXPECT_EQ(a->length, sizeof(sockaddr_in6));
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a->storage);
    EXPECT_EQ(ntohs(sin6->sin6_port), 9000);
    EXPECT_TRUE(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    EXPECT_EQ(a->to_string(), "[::1]:9000");
    EXPECT_EQ(parsed(Transport::udp6, "[fe80::0:1]:1"), "[fe80::1]:1");
    EXPECT_EQ(parsed(Transport::tcp6, "[::]:0"), "[::]:0");
}

TEST(ParseAddress, UnixPath) {
    auto a = parse_address(Transport::unix_stream, "/tmp/x.sock");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->family(), AF_UNIX);
    EXPECT_FALSE(a->is_abstract());
    EXPECT_EQ(a->unix_path(), "/tmp/x.sock");
    // sun_family (2) + 11 bytes of path + its NUL
    EXPECT_EQ(a->length, offsetof(sockaddr_un, sun_path) + 12);
    EXPECT_EQ(a->to_string(), "/tmp/x.sock");
    EXPECT_EQ(parsed(Transport::unix_dgram, "./rel.sock"), "./rel.sock");
}

TEST(ParseAddress, UnixAbstractName) {
    auto a = parse_address(Transport::unix_seqpacket, "@tracepacket");
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->is_abstract());
    EXPECT_EQ(a->unix_path(), "");
    // Abstract: a leading NUL, the name, no terminator.
    EXPECT_EQ(a->length, offsetof(sockaddr_un, sun_path) + 1 + 11);
    const auto* sun = reinterpret_cast<const sockaddr_un*>(&a->storage);
    EXPECT_EQ(sun->sun_path[0], '\0');
    EXPECT_EQ(std::string(sun->sun_path + 1, 11), "tracepacket");
    EXPECT_EQ(a->to_string(), "@tracepacket");
}

TEST(ParseAddress, UnixLengthLimits) {
    std::string longest = "/" + std::string(106, 'a');  // 107 bytes + NUL fills sun_path
    EXPECT_EQ(parsed(Transport::unix_stream, longest), longest);
    EXPECT_EQ(error_of(Transport::unix_stream, longest + "a"),
              "malformed address '" + longest + "a': a UNIX socket path must be 1 to 107 bytes");
    EXPECT_EQ(error_of(Transport::unix_dgram, "@"),
              "malformed address '@': a UNIX socket name must be 1 to 107 bytes");
}

TEST(ParseAddress, MalformedPort) {
    const std::string why = "': port must be a number from 0 to 65535";
    EXPECT_EQ(error_of(Transport::tcp, "127.0.0.1:99999"),
              "malformed address '127.0.0.1:99999" + why);
    EXPECT_EQ(error_of(Transport::tcp, "127.0.0.1:"), "malformed address '127.0.0.1:" + why);
    EXPECT_EQ(error_of(Transport::tcp, "127.0.0.1:http"),
              "malformed address '127.0.0.1:http" + why);
    EXPECT_EQ(error_of(Transport::udp, "-1"), "malformed address '-1" + why);
    EXPECT_EQ(error_of(Transport::udp, "80 "), "malformed address '80 " + why);
    EXPECT_EQ(error_of(Transport::tcp6, "[::1]:65536"), "malformed address '[::1]:65536" + why);
}

TEST(ParseAddress, MalformedHost) {
    EXPECT_EQ(error_of(Transport::tcp, "localhost:80"),
              "malformed address 'localhost:80': 'localhost' is not an IPv4 address "
              "(transport tcp)");
    EXPECT_EQ(error_of(Transport::tcp, "[::1]:80"),
              "malformed address '[::1]:80': '::1' is not an IPv4 address (transport tcp)");
    EXPECT_EQ(error_of(Transport::tcp6, "127.0.0.1:80"),
              "malformed address '127.0.0.1:80': '127.0.0.1' is not an IPv6 address "
              "(transport tcp6)");
    EXPECT_EQ(error_of(Transport::tcp6, "::1:80"),
              "malformed address '::1:80': write IPv6 addresses as [ADDR]:PORT");
    EXPECT_EQ(error_of(Transport::tcp6, "[::1]80"),
              "malformed address '[::1]80': expected [IPV6]:PORT");
    EXPECT_EQ(error_of(Transport::tcp6, "[::1"), "malformed address '[::1': expected [IPV6]:PORT");
}

TEST(ParseAddress, WrongKindForTransport) {
    EXPECT_EQ(error_of(Transport::tcp, "/tmp/x.sock"),
              "malformed address '/tmp/x.sock' for transport tcp: expected HOST:PORT");
    EXPECT_EQ(error_of(Transport::udp6, "@name"),
              "malformed address '@name' for transport udp6: expected HOST:PORT");
    EXPECT_EQ(error_of(Transport::unix_stream, "127.0.0.1:80"),
              "malformed address '127.0.0.1:80' for transport unix: expected a path "
              "(/tmp/x.sock) or an @abstract name");
    EXPECT_EQ(error_of(Transport::unix_dgram, "x.sock"),
              "malformed address 'x.sock' for transport unix-dgram: expected a path "
              "(/tmp/x.sock) or an @abstract name");
    EXPECT_EQ(error_of(Transport::tcp, ""), "malformed address '': empty");
}

TEST(DefaultAddress, MirrorsTheClassicExperiment) {
    EXPECT_EQ(default_address(Transport::tcp).to_string(), "127.0.0.1:8080");
    EXPECT_EQ(default_address(Transport::udp).to_string(), "127.0.0.1:8080");
    EXPECT_EQ(default_address(Transport::tcp6).to_string(), "[::1]:8080");
    EXPECT_EQ(default_address(Transport::unix_stream).to_string(), "/tmp/tracepacket-unix.sock");
    EXPECT_EQ(default_address(Transport::unix_seqpacket).to_string(),
              "/tmp/tracepacket-unix-seqpacket.sock");
}

TEST(TransportFacts, KindsAndLimits) {
    EXPECT_EQ(socket_family(Transport::udp6), AF_INET6);
    EXPECT_EQ(socket_type(Transport::unix_seqpacket), SOCK_SEQPACKET);
    EXPECT_TRUE(is_byte_stream(Transport::unix_stream));
    EXPECT_FALSE(is_byte_stream(Transport::unix_seqpacket));
    EXPECT_TRUE(is_connection_oriented(Transport::unix_seqpacket));
    EXPECT_FALSE(is_connection_oriented(Transport::unix_dgram));
    EXPECT_EQ(max_message_size(Transport::udp), 65507u);
    EXPECT_EQ(max_message_size(Transport::udp6), 65527u);
    EXPECT_EQ(max_message_size(Transport::tcp), 0u);
}

}  // namespace
}  // namespace tpk::lab
