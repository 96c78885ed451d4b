#include "netlink/tcp_counters.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace tpk::netlink {
namespace {

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    return words;
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return errno_error("read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

Result<CounterTable> parse_snmp_text(std::string_view text) {
    std::vector<std::string_view> lines;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        if (end > start) lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    CounterTable table;
    for (std::size_t i = 0; i + 1 < lines.size(); i += 2) {
        auto names = split_words(lines[i]);
        auto values = split_words(lines[i + 1]);
        if (names.empty() || values.empty() || names[0] != values[0] || names[0].back() != ':')
            return make_error("malformed counters: line " + std::to_string(i + 1) +
                              " and the next are not a 'Group: names' / 'Group: values' pair");
        std::string group(names[0].substr(0, names[0].size() - 1));
        if (names.size() != values.size())
            return make_error("malformed counters: group " + group + " has " +
                              std::to_string(names.size() - 1) + " names but " +
                              std::to_string(values.size() - 1) + " values");
        for (std::size_t k = 1; k < names.size(); ++k) {
            std::int64_t value = 0;
            auto v = values[k];
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
            if (ec != std::errc{} || end != v.data() + v.size())
                return make_error("malformed counters: " + group + "." + std::string(names[k]) +
                                  " is '" + std::string(v) + "', not a number");
            table[group + "." + std::string(names[k])] = value;
        }
    }
    if (lines.size() % 2 != 0)
        return make_error("malformed counters: a names line has no values line");
    return table;
}

const std::vector<CounterInfo>& queue_counters() {
    static const std::vector<CounterInfo> counters = {
        {"TcpExt.ListenOverflows", "accept queue full: a completed handshake was dropped"},
        {"TcpExt.ListenDrops", "SYNs or handshakes a listener dropped (includes overflows)"},
        {"TcpExt.TCPReqQFullDrop", "SYN dropped: SYN queue full and no syncookies"},
        {"TcpExt.TCPReqQFullDoCookies", "SYN queue full: answered with a syncookie"},
        {"TcpExt.SyncookiesSent", "syncookies sent (SYN queue overflowed)"},
        {"TcpExt.SyncookiesRecv", "valid syncookies received back"},
        {"TcpExt.SyncookiesFailed", "invalid syncookies received"},
        {"TcpExt.TCPBacklogDrop", "segment dropped: socket backlog full while the user held the lock"},
        {"Tcp.ActiveOpens", "connect(): CLOSED -> SYN-SENT"},
        {"Tcp.PassiveOpens", "handshakes accepted by listeners: LISTEN -> SYN-RECV"},
        {"Tcp.AttemptFails", "connection attempts that failed (SYN-SENT/SYN-RECV -> CLOSED)"},
        {"Tcp.EstabResets", "established connections reset"},
        {"Tcp.OutRsts", "segments sent with RST"},
        {"Tcp.RetransSegs", "segments retransmitted"},
        {"Tcp.CurrEstab", "connections now ESTABLISHED or CLOSE-WAIT (a gauge, not a counter)"},
    };
    return counters;
}

Result<CounterTable> read_tcp_counters(const std::string& proc_root) {
    CounterTable all;
    for (const char* name : {"/net/snmp", "/net/netstat"}) {
        auto text = read_file(proc_root + name);
        if (!text) return std::move(text).take_error();
        auto table = parse_snmp_text(*text);
        if (!table) return wrap(std::move(table).take_error(), proc_root + name);
        all.merge(*table);
    }
    return all;
}

}  // namespace tpk::netlink
