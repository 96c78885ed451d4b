// The kernel's TCP counters that explain queue trouble, read from
// /proc/net/netstat (TcpExt) and /proc/net/snmp (Tcp). These files are the
// kernel's SNMP MIB dump: pairs of lines "Group: Name1 Name2 ..." and
// "Group: value1 value2 ...". Plain data; the command prints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tpk::netlink {

// "TcpExt.ListenOverflows" -> value, for every counter in the text.
using CounterTable = std::map<std::string, std::int64_t>;

// Parses one /proc/net/{netstat,snmp} text. Malformed pairs (name and value
// counts differ, non-numbers) are an Error naming the group.
Result<CounterTable> parse_snmp_text(std::string_view text);

struct CounterInfo {
    std::string_view key;      // "TcpExt.ListenOverflows"
    std::string_view meaning;  // one line, what a rise means
};
// The counters `tracepacket sockets --counters` shows, in display order.
const std::vector<CounterInfo>& queue_counters();

// Reads both files under proc_root ("/proc").
Result<CounterTable> read_tcp_counters(const std::string& proc_root = "/proc");

}  // namespace tpk::netlink
