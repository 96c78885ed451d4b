#include "report/json_writer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

// Where the run of plain bytes from s[i] on ends: the next byte that needs
// escaping or checking, or s.size(). 16 bytes a step where SSE2 is there (every
// x86-64): the scan was a sixth of writing a journey's JSON, byte by byte.
std::size_t plain_run(std::string_view s, std::size_t i) {
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    for (; i + 16 <= s.size(); i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + i));
        // Signed compare: bytes from 0x80 up are negative, so "< 0x20"
        // catches them with the control bytes.
        const __m128i special = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
            _mm_cmplt_epi8(v, space));
        if (const int mask = _mm_movemask_epi8(special))
            return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    }
#endif
    while (i < s.size() && !kSpecial[static_cast<unsigned char>(s[i])]) ++i;
    return i;
}

// The most bytes a string of n bytes takes quoted and escaped: a control
// byte becomes \u00xx (6), a byte that starts no character U+FFFD (3).
constexpr std::size_t max_quoted(std::size_t n) { return 6 * n + 2; }

// s quoted and escaped at p, which has room for max_quoted(s.size());
// returns the end.
char* quote_into(char* p, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    *p++ = '"';
    std::size_t i = 0;
    while (i < s.size()) {
        // Runs of plain bytes are copied at once.
        const std::size_t run = plain_run(s, i);
        std::memcpy(p, s.data() + i, run - i);
        p += run - i;
        i = run;
        if (i == s.size()) break;
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(s, i);
            if (n == 0) {
                std::memcpy(p, "\xEF\xBF\xBD", 3);  // U+FFFD for a byte that starts no character
                p += 3;
                ++i;
            } else {
                std::memcpy(p, s.data() + i, n);
                p += n;
                i += n;
            }
            continue;
        }
        *p++ = '\\';
        switch (c) {
            case '"': *p++ = '"'; break;
            case '\\': *p++ = '\\'; break;
            case '\b': *p++ = 'b'; break;
            case '\f': *p++ = 'f'; break;
            case '\n': *p++ = 'n'; break;
            case '\r': *p++ = 'r'; break;
            case '\t': *p++ = 't'; break;
            default:
                std::memcpy(p, "u00", 3);
                p[3] = kHex[c >> 4];
                p[4] = kHex[c & 0xf];
                p += 5;
                break;
        }
        ++i;
    }
    *p++ = '"';
    return p;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    const std::size_t at = out.size();
    out.resize(at + max_quoted(s.size()));
    char* end = quote_into(out.data() + at, s);
    out.resize(static_cast<std::size_t>(end - out.data()));
}

void JsonWriter::grow(std::size_t n) {
    // Room for the rest of a record at once: resize() zero-fills what it
    // adds, and the commit at the record's end gives it back.
    out_.resize(len_ + std::max<std::size_t>(n, 8192));
    room_ = true;
}

JsonWriter& JsonWriter::value(std::string_view s) {
    char* p = separate(room(max_quoted(s.size()) + 1));
    advance(quote_into(p, s));
    return *this;
}

template <typename Int>
JsonWriter& JsonWriter::integer(Int n) {
    char* p = separate(room(24));
    advance(std::to_chars(p, p + 22, n).ptr);
    return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) { return integer(n); }
JsonWriter& JsonWriter::value(std::int64_t n) { return integer(n); }

JsonWriter& JsonWriter::hex(std::uint64_t n) {
    char* p = separate(room(24));
    std::memcpy(p, "\"0x", 3);
    p = std::to_chars(p + 3, p + 20, n, 16).ptr;
    *p++ = '"';
    advance(p);
    return *this;
}

}  // namespace tpk::report
