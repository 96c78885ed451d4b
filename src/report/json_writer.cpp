#include "report/json_writer.h"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace tpk::report {

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (Unicode 15, table
// 3-7: no overlongs, no surrogates, nothing above U+10FFFF), 0 if there is none.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char b = at(i);
    const std::size_t left = s.size() - i;
    auto cont = [&](std::size_t k, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
        return k < left && at(i + k) >= lo && at(i + k) <= hi;
    };
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return cont(1) ? 2 : 0;
    if (b == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (b == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (b == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (b >= 0xF1 && b <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (b == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
}

// Bytes that a JSON string cannot hold as they are: control bytes, '"', '\',
// and every byte from 0x80 up (UTF-8, checked by utf8_sequence).
constexpr auto kSpecial = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[c] = true;
    t['"'] = t['\\'] = true;
    for (int c = 0x80; c < 0x100; ++c) t[c] = true;
    return t;
}();

template <typename Int>
void append_int(std::string& out, Int n) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    std::size_t i = 0;
    while (i < s.size()) {
        // Runs of plain bytes are copied at once.
        std::size_t run = i;
        while (run < s.size() && !kSpecial[static_cast<unsigned char>(s[run])]) ++run;
        out.append(s.data() + i, run - i);
        i = run;
        if (i == s.size()) break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no character
                ++i;
            } else {
                out.append(s.data() + i, n);
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default: fmt::format_to(std::back_inserter(out), "\\u{:04x}", c); break;
        }
        ++i;
    }
    out += '"';
}

void JsonWriter::open(char bracket) {
    separate();
    out_ += bracket;
    first_ |= std::uint64_t{1} << depth_++;
}

void JsonWriter::close(char bracket) {
    out_ += bracket;
    --depth_;
}

JsonWriter& JsonWriter::begin_object() {
    open('{');
    return *this;
}

JsonWriter& JsonWriter::end_object() {
    close('}');
    return *this;
}

JsonWriter& JsonWriter::begin_array() {
    open('[');
    return *this;
}

JsonWriter& JsonWriter::end_array() {
    close(']');
    return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
}

JsonWriter& JsonWriter::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) {
    separate();
    append_int(out_, n);
    return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
    separate();
    append_int(out_, n);
    return *this;
}

JsonWriter& JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

JsonWriter& JsonWriter::hex(std::uint64_t n) {
    separate();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n, 16);
    out_ += "\"0x";
    out_.append(buf, end);
    out_ += '"';
    return *this;
}

}  // namespace tpk::report
